"""The gate in front of an app: every protected request needs a signed-in, allowed user.

A page load without one is sent to `{base}/login?next=<the page>`; any other request gets 401
(403 for a user the app does not allow). The app's own WebSocket is left to the socket route,
which asks `identify` and closes with 4401, as the protocol says; other WebSocket routes are
refused at the handshake. Responses to protected requests are never stored by shared caches.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse, Response

from ._context import AuthSettings, signed_in
from ._http import base_path
from ._pages import LoginPage
from ._paths import request_target, route_path, safe_next

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

APP_SOCKET = "/numerous/ws"
_NO_STORE = {"Cache-Control": "no-store"}


class AuthMiddleware:
    def __init__(self, app: ASGIApp, settings: AuthSettings, page: LoginPage) -> None:
        self.app = app
        self.settings = settings
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope[AuthSettings.SCOPE_KEY] = self.settings
        path = route_path(scope)
        if not self.settings.rules.needs_auth(path):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send, path)
            return
        conn = HTTPConnection(scope)
        found = await signed_in(conn, self.settings.provider)
        if found is None:
            await self._unauthenticated(conn)(scope, receive, send)
        elif not self.settings.provider.allows(found.user):
            await self._forbidden(conn, found.user.username)(scope, receive, send)
        else:
            await self.app(scope, receive, _private(send))

    async def _socket(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if path == APP_SOCKET:
            await self.app(scope, receive, send)  # the route closes it with 4401 if need be
            return
        found = await signed_in(HTTPConnection(scope), self.settings.provider)
        if found is not None and self.settings.provider.allows(found.user):
            await self.app(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 4401, "reason": "not authenticated"})

    def _unauthenticated(self, conn: HTTPConnection) -> Response:
        if _is_page_load(conn):
            base = base_path(conn)
            target = safe_next(request_target(conn.scope), f"{base}/")
            return RedirectResponse(f"{base}/login?next={quote(target, safe='')}",
                                    status_code=303, headers=_NO_STORE)
        return JSONResponse({"detail": "Not authenticated"}, status_code=401, headers=_NO_STORE)

    def _forbidden(self, conn: HTTPConnection, username: str) -> Response:
        if _is_page_load(conn):
            target = safe_next(request_target(conn.scope), f"{base_path(conn)}/")
            return self.page.render(conn, next_url=target, status_code=403, error=(
                f"You are signed in as {username}, who does not have access to this app. "
                "Sign in as someone else to continue."))
        return JSONResponse({"detail": "Not allowed"}, status_code=403, headers=_NO_STORE)


def _is_page_load(conn: HTTPConnection) -> bool:
    if conn.scope.get("method") not in ("GET", "HEAD"):
        return False
    headers = conn.headers
    return (headers.get("sec-fetch-mode") == "navigate"
            or headers.get("sec-fetch-dest") == "document"
            or "text/html" in headers.get("accept", ""))


def _private(send: Send) -> Send:
    """Mark cacheable responses `private`: they are for a signed-in user only."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            cache = headers.get("cache-control")
            if cache and "public" in cache:
                headers["cache-control"] = cache.replace("public", "private")
        await send(message)

    return wrapped
