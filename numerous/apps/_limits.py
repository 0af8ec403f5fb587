"""Request body budgets: how many bytes a request may send to a path, counted as they arrive.

A Content-Length says how big a body will be, but a chunked body says nothing until it ends,
and a route that parses JSON or a form reads it whole first. So the budget is enforced on the
body stream itself: when the route reads the body, a Content-Length over the budget is refused
before a byte of it is read, and a chunked body as soon as it passes it, in both cases with a
413 (and `Connection: close`, so the server does not read the rest to reuse the connection).
A route that answers without reading such a body closes the connection too.

Each path has a budget: the longest prefix of `SecurityPolicy.body_limits` that matches,
otherwise what the route itself declares in a `max_body` attribute (the agent API's routes
take `SessionLimits.max_message_bytes`; an upload route can declare more), otherwise
`SecurityPolicy.max_body_bytes`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._client import route_path

ROUTE_BUDGET = "max_body"
"""The attribute by which a route declares a budget of its own (bytes)."""


class BodyTooLarge(Exception):
    """Raised from `receive` once a body passes its budget; the middleware answers 413."""


class BodyLimit:
    """Counts each request's body bytes as the app receives them, and answers 413 when they
    pass the path's budget. `paths` maps path prefixes to budgets; None leaves the paths
    below a prefix to whatever is mounted there (an app of `combine_apps` limits its own)."""

    def __init__(self, app: ASGIApp, default: int, paths: Mapping[str, int | None]) -> None:
        self.app = app
        self.default = default
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found, budget = _by_prefix(self.paths, route_path(scope))
        if found and budget is None:
            await self.app(scope, receive, send)
            return
        await _Metered(self, scope, budget if found else None)(receive, send)


class _Metered:
    """One request under a budget: its `receive` counted, its response replaced by a 413
    when the budget is passed before the app began to answer."""

    def __init__(self, limit: BodyLimit, scope: Scope, configured: int | None) -> None:
        self.limit = limit
        self.scope = scope
        self.configured = configured
        self.budget: int | None = None
        self.received = 0
        self.ended = False
        self.refused = False
        self.started = False

    async def __call__(self, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            self._check(self.received)
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                self.ended = not message.get("more_body", False)
                self._check(self.received)
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused:
                return  # the app's own answer to the cut-off body (often a 400): ours is sent
            if message["type"] == "http.response.start":
                self.started = True
                self._close_if_unread(message)
            await send(message)

        try:
            await self.limit.app(self.scope, counted_receive, guarded_send)
        except Exception:
            if not self.refused or self.started:
                raise
        if self.refused and not self.started:
            await _too_large(send, self._budget())

    def _budget(self) -> int:
        """Decided when first needed, at the earliest the first read of the body: by then
        the router has found the route."""
        if self.budget is None:
            # FastAPI's routes put themselves in the scope; a plain Starlette route's endpoint
            # carries the budget instead.
            declared = getattr(self.scope.get("route"), ROUTE_BUDGET,
                               getattr(self.scope.get("endpoint"), ROUTE_BUDGET, None))
            self.budget = self.configured if self.configured is not None else (
                declared if isinstance(declared, int) else self.limit.default)
        return self.budget

    def _check(self, received: int) -> None:
        budget = self._budget()
        length = _content_length(self.scope)
        if received > budget or (length is not None and length > budget):
            self.refused = True
            raise BodyTooLarge(f"request bodies here are limited to {budget} bytes")

    def _close_if_unread(self, start: Message) -> None:
        """An answer given without reading a body that may pass the budget (a 404, a 405)
        closes the connection: the server would otherwise read the rest, whatever its size,
        to reuse the connection."""
        if self.ended:
            return
        headers = Headers(scope=self.scope)
        length = _content_length(self.scope)
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if chunked or (length is not None and length > self._budget()):
            MutableHeaders(scope=start)["connection"] = "close"


def _by_prefix(paths: Mapping[str, int | None], path: str) -> tuple[bool, int | None]:
    """The budget of the longest prefix of `paths` that `path` is at or below."""
    found = [p for p in paths if path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/")]
    if not found:
        return False, None
    return True, paths[max(found, key=lambda prefix: len(prefix.rstrip("/")))]


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None


async def _too_large(send: Send, budget: int) -> None:
    body = json.dumps({"detail": {
        "error": "too_large",
        "message": f"request bodies here are limited to {budget} bytes"}}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
