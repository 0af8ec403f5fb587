"""FastAPI dependencies for routes you add to an app with authentication.

    from numerous.apps.auth.dependencies import AdminUser, CurrentUser, OptionalUser, require_role

    @app.get("/api/profile")
    async def profile(user: CurrentUser):                     # 401 without a signed-in user
        return {"username": user.username, "roles": user.roles}

    @app.get("/api/data")
    async def data(user: OptionalUser): ...                   # None without one

    @app.get("/api/admin/stats")
    async def stats(user: AdminUser): ...                     # 403 unless an admin

    @app.get("/api/reports", dependencies=[Depends(require_role("analyst"))])
    async def reports(): ...                                  # 403 without the role

They read the same httpOnly access token cookie as the pages, and work in WebSocket routes too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status
from starlette.requests import HTTPConnection

from ._context import settings_of, signed_in
from .models import User

__all__ = ["AdminUser", "CurrentUser", "OptionalUser", "get_current_user", "get_optional_user",
           "require_admin", "require_role"]


async def get_optional_user(conn: HTTPConnection) -> User | None:
    """The signed-in user, or None."""
    found = await signed_in(conn, settings_of(conn).provider)
    return found.user if found is not None else None


async def get_current_user(conn: HTTPConnection) -> User:
    """The signed-in user; 401 if there is none."""
    user = await get_optional_user(conn)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


async def require_admin(user: CurrentUser) -> User:
    """The signed-in user if an admin; 403 otherwise."""
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Admin rights required")
    return user


AdminUser = Annotated[User, Depends(require_admin)]


def require_role(role: str, *more: str) -> Callable[[User], Awaitable[User]]:
    """A dependency: the signed-in user if they have `role` (or one of `more`), or are an
    admin; 403 otherwise. `Depends(require_role("editor"))`."""
    roles = (role, *more)

    async def check(user: CurrentUser) -> User:
        if not (user.is_admin or user.has_any_role(roles)):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"Requires the role {' or '.join(map(repr, roles))}")
        return user

    return check
