"""Who a request comes from: the access token cookie checked once per request, and the app's
authentication settings, found from the request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from starlette.requests import HTTPConnection

from .._client import client_token
from ._http import ACCESS_COOKIE, SETTINGS_KEY
from .base import BaseAuthProvider
from .models import User

if TYPE_CHECKING:
    from ._paths import RouteRules

_SCOPE_KEY = "numerous.auth.signed_in"
_UNSET = object()


@dataclass(frozen=True)
class SignedIn:
    user: User
    expires_at: int
    """When the access token this request carried runs out (Unix time)."""
    sid: str | None = None
    """The sign-in the access token belongs to (None in a token from an older version)."""


@dataclass(frozen=True)
class AuthSettings:
    """What `create_app(auth_provider=...)` set up for one app; the gate middleware puts it
    into every request's scope, where the dependencies find it."""

    SCOPE_KEY: ClassVar[str] = SETTINGS_KEY

    provider: BaseAuthProvider
    rules: RouteRules
    shared_prefix: str = ""
    """Set when combine_apps() shares the provider: the app's mount prefix (see cookie_paths)."""


async def signed_in(conn: HTTPConnection, provider: BaseAuthProvider) -> SignedIn | None:
    """The active user of the request's access token, looked up once per request. The
    browser it came from is noted for the token's sign-in, so that ending the sign-in can
    close that browser's sessions."""
    cached = conn.scope.get(_SCOPE_KEY, _UNSET)
    if cached is not _UNSET:
        return cast("SignedIn | None", cached)
    result = None
    token = conn.cookies.get(ACCESS_COOKIE)
    claims = provider.verify_access_token(token) if token else None
    if claims is not None:
        user = await provider.user_for_claims(claims)
        if user is not None:
            result = SignedIn(user, claims["exp"], claims["sid"])
            browser = client_token(conn)
            if browser and claims["sid"] is not None:
                provider.sign_in_browsers.seen(claims["sid"], browser)
    conn.scope[_SCOPE_KEY] = result
    return result


def settings_of(conn: HTTPConnection) -> AuthSettings:
    settings = conn.scope.get(AuthSettings.SCOPE_KEY)
    if isinstance(settings, AuthSettings):
        return settings
    raise RuntimeError("numerous.apps.auth dependencies need an app made by "
                       "create_app(..., auth_provider=...)")
