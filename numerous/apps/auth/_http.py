"""HTTP details of authentication: the cookies and the request's address. (The same-origin
check is numerous.apps._origin.cross_site_reason, shared with the WebSocket route.)

Cookies are httpOnly and SameSite=Lax, `Secure` when the request came over https (the ASGI
scope's scheme, which uvicorn sets from `X-Forwarded-Proto` for trusted proxies). Their paths
follow the prefix the app is served under:

- `access_token` (path `{base}/`): sent with the app's pages, assets and WebSocket;
- `refresh_token` (path `{base}/api/auth`): sent only to the auth endpoints;
- `numerous_auth` (path `{base}/`): no secret, only a hint that a refresh token exists, so a
  returning browser can be refreshed instead of shown the login form.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.responses import Response

from .._client import base_path
from .base import BaseAuthProvider, TokenPair

__all__ = ["ACCESS_COOKIE", "HINT_COOKIE", "REFRESH_COOKIE", "SETTINGS_KEY", "base_path", "clear_auth_cookies",
           "client_address", "cookie_paths", "is_secure", "set_auth_cookies"]

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
HINT_COOKIE = "numerous_auth"
SETTINGS_KEY = "numerous.auth"
"""Where a request's scope holds the app's AuthSettings (put there by the gate middleware)."""


def is_secure(conn: HTTPConnection, provider: BaseAuthProvider | None = None) -> bool:
    """Whether cookies get `Secure`: the provider's `secure_cookies`, else the scheme."""
    if provider is not None and provider.secure_cookies is not None:
        return provider.secure_cookies
    return conn.url.scheme in ("https", "wss")


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client is not None else "unknown"


def cookie_paths(conn: HTTPConnection) -> tuple[str, str]:
    """Paths of (the access and hint cookies, the refresh cookie).

    An app's own sign-in lives under its base, the refresh token only under its auth API. A
    provider shared by combine_apps() signs in to every app at once: the cookies then belong to
    the combined server's root, which every app and its auth API lie under.
    """
    base = base_path(conn)
    shared_prefix = getattr(conn.scope.get(SETTINGS_KEY), "shared_prefix", "")
    if shared_prefix:
        root = base.removesuffix(shared_prefix) or "/"
        return root, root
    return base or "/", f"{base}/api/auth"


def set_auth_cookies(response: Response, conn: HTTPConnection, pair: TokenPair,
                     provider: BaseAuthProvider) -> None:
    path, refresh_path = cookie_paths(conn)
    secure = is_secure(conn, provider)
    access_age = int(provider.tokens.access_lifetime)
    refresh_age = int(provider.tokens.refresh_lifetime)
    response.set_cookie(ACCESS_COOKIE, pair.access.token, max_age=access_age, path=path,
                        httponly=True, samesite="lax", secure=secure)
    response.set_cookie(REFRESH_COOKIE, pair.refresh.token, max_age=refresh_age,
                        path=refresh_path, httponly=True, samesite="lax", secure=secure)
    response.set_cookie(HINT_COOKIE, "1", max_age=refresh_age, path=path,
                        httponly=True, samesite="lax", secure=secure)


def clear_auth_cookies(response: Response, conn: HTTPConnection,
                       provider: BaseAuthProvider) -> None:
    path, refresh_path = cookie_paths(conn)
    secure = is_secure(conn, provider)
    for name, where in ((ACCESS_COOKIE, path), (REFRESH_COOKIE, refresh_path),
                        (HINT_COOKIE, path)):
        response.delete_cookie(name, path=where, httponly=True, samesite="lax", secure=secure)
