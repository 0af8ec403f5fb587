"""The built-in authentication providers.

`EnvAuthProvider` needs nothing beyond the framework; `DatabaseAuthProvider` needs the
`auth-db` extra (SQLAlchemy, a driver, pwdlib) and is imported only when asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .env_auth import AuthConfigError, EnvAuthProvider

if TYPE_CHECKING:
    from .database_auth import DatabaseAuthProvider, UserExistsError

__all__ = ["AuthConfigError", "DatabaseAuthProvider", "EnvAuthProvider", "UserExistsError"]


def __getattr__(name: str) -> Any:
    # The database provider's dependencies are optional: import them on first use only.
    if name in ("DatabaseAuthProvider", "UserExistsError"):
        from . import database_auth

        return getattr(database_auth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
