"""Who a browser is and where the app is served for it: the client cookie and the base path.

Every page load hands the browser an unguessable client token in an httpOnly, SameSite cookie;
a session belongs to the token that opened it (and, with authentication, to the signed-in user
too). This module is the one definition of that cookie, of what counts as a token, and of the
path an app is served under, for the page route, the WebSocket, authentication and the agent
API alike.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

CLIENT_COOKIE = "numerous_client"
MIN_TOKEN_LENGTH = 32
"""Shorter cookie values were not made here (ours have 32 characters: 24 random bytes)."""


def new_token() -> str:
    return secrets.token_urlsafe(24)


def client_token(conn: HTTPConnection) -> str:
    """The request's client token, or "" when it has none that this server could have made."""
    token = conn.cookies.get(CLIENT_COOKIE) or ""
    return token if len(token) >= MIN_TOKEN_LENGTH else ""


def token_or_new(conn: HTTPConnection) -> tuple[str, bool]:
    """The request's client token, or a new one; and whether it is new (to be set)."""
    token = client_token(conn)
    return (token, False) if token else (new_token(), True)


def set_client_cookie(response: Response, conn: HTTPConnection, token: str) -> Response:
    """Hand the browser its client token: httpOnly, SameSite=Lax, Secure over https, for every
    path of the server (several apps under one server share it)."""
    response.set_cookie(CLIENT_COOKIE, token, httponly=True, samesite="lax",
                        secure=conn.url.scheme in ("https", "wss"), path="/")
    return response


def base_path(conn: HTTPConnection) -> str:
    """Where the app is served, without a trailing slash: "" at the root, "/app1" mounted."""
    return scope_base(conn.scope)


def scope_base(scope: Mapping[str, Any]) -> str:
    return str(scope.get("root_path", "")).rstrip("/")


def route_path(scope: Mapping[str, Any]) -> str:
    """The request's path below the app's own root (a mount or `--root-path` prefix removed)."""
    path = str(scope.get("path", "/"))
    root = scope_base(scope)
    return (path.removeprefix(root) if root and path.startswith(root) else path) or "/"


def server_root(conn: HTTPConnection) -> str:
    """The root of the whole server (a reverse proxy's prefix), above any combine_apps mount."""
    return str(conn.scope.get("app_root_path", conn.scope.get("root_path", ""))).rstrip("/")
