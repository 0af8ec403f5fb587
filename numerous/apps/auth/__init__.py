"""Authentication for Numerous apps: pass a provider to `create_app(auth_provider=...)`.

    from numerous.apps.auth.providers.env_auth import EnvAuthProvider
    app = create_app(template="index.html.j2", app_generator=run_app,
                     auth_provider=EnvAuthProvider())

Pages then need a signed-in user (the login page, the auth API and what they load excepted),
sessions belong to the user who opened them, `current_user()` returns the `User` inside
`run_app()` and callbacks, and the dependencies in `numerous.apps.auth.dependencies` give
routes of your own the user. See docs/auth.md.
"""

from __future__ import annotations

from ._integration import auth_extension, check_secret, shared_sign_in
from ._options import LoginOption
from ._ratelimit import LoginLimits
from ._refresh import RefreshTokenRecord
from .base import AuthProvider, BaseAuthProvider, TokenPair
from .dependencies import (
    AdminUser,
    CurrentUser,
    OptionalUser,
    get_current_user,
    get_optional_user,
    require_admin,
    require_role,
)
from .models import AuthResult, CreateUserRequest, UpdateUserRequest, User

__all__ = [
    "AdminUser",
    "AuthProvider",
    "AuthResult",
    "BaseAuthProvider",
    "CreateUserRequest",
    "CurrentUser",
    "LoginLimits",
    "LoginOption",
    "OptionalUser",
    "RefreshTokenRecord",
    "TokenPair",
    "UpdateUserRequest",
    "User",
    "auth_extension",
    "check_secret",
    "get_current_user",
    "get_optional_user",
    "require_admin",
    "require_role",
    "shared_sign_in",
]
