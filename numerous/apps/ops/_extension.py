"""The operations extension: Prometheus metrics, the admin page, request ids and timings.

`create_app(metrics=True)` (or `NUMEROUS_METRICS_TOKEN` in the environment, or dev mode)
installs it. Its middleware sits outside authentication, so that a scraper holding the bearer
token reaches `/numerous/metrics` without a browser sign-in; everyone else needs the admin
role (or, in dev mode without authentication, nothing).
"""

from __future__ import annotations

import asyncio
import hmac
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._client import client_token, route_path, scope_base
from .._connection import Connection
from .._observe import HOOKS
from .._runtime import AppRuntime, Extension
from ._logs import ERRORS, request_context
from ._metrics import Metrics, app_label, metrics
from ._tracing import Observers, Tracing, tracer

TOKEN_ENV = "NUMEROUS_METRICS_TOKEN"
METRICS_PATH = "/numerous/metrics"
ADMIN_PATH = "/numerous/admin"
REFRESH_SECONDS = 5.0


class Ops:
    """The extension's state: what `runtime.extension("ops")` returns."""

    def __init__(self, runtime: AppRuntime, metrics: Metrics, token: str | None,
                 admin: Any) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.token = token
        self.admin = admin
        self.errors = ERRORS
        self.tracing: Tracing | None = None
        """Set when the app starts, if OpenTelemetry is configured (see ops._tracing)."""

    def watch(self, connection: Connection, websocket: HTTPConnection) -> Connection:
        base = scope_base(websocket.scope)
        if self.tracing is not None:
            connection = self.tracing.watch(connection, base)
        return self.metrics.watch(connection, base)

    async def allowed(self, conn: HTTPConnection) -> int:
        """200 for the bearer token or a signed-in admin; 401 without a sign-in; else 403."""
        header = conn.headers.get("authorization", "")
        if self.token and header.startswith("Bearer ") and hmac.compare_digest(
                header[7:].strip().encode(), self.token.encode()):
            return 200
        has_auth = self.runtime.extension("auth") is not None
        if not has_auth:
            return 200 if self.runtime.dev else 403
        # Only the user matters here, not which browser: a scraper or a fresh browser has no
        # client cookie, and identify would turn it away without one.
        identity = await self.runtime.identify(conn, client_token(conn) or "ops")
        user = identity.user if identity is not None else None
        if user is None:
            return 401
        return 200 if getattr(user, "is_admin", False) else 403


def ops_extension(runtime: AppRuntime, *, admin: Any = None,
                  token: str | None = None) -> Extension:
    """Metrics at `{base}/numerous/metrics` and the `admin` app (see `ops.admin_builder`), if
    given, at `{base}/numerous/admin`. `token` (default: `$NUMEROUS_METRICS_TOKEN`) lets a
    scraper in with `Authorization: Bearer <token>`."""
    collected = metrics()
    collected.runtimes.add(runtime)
    admin_page = admin
    ops = Ops(runtime, collected, token or os.environ.get(TOKEN_ENV) or None, admin_page)
    routes = [Mount(ADMIN_PATH, _Guarded(admin_page, ops))] if admin_page is not None else []
    return Extension(name="ops", routes=routes,
                     watch=ops.watch,
                     middleware=[Middleware(OpsMiddleware, ops=ops)],
                     lifespan=lambda: _lifespan(ops), state=ops)


@asynccontextmanager
async def _lifespan(ops: Ops) -> AsyncIterator[None]:
    found = tracer()
    ops.tracing = Tracing(found) if found is not None else None
    previous = HOOKS.observer
    HOOKS.observer = ops.metrics if ops.tracing is None else Observers(ops.metrics, ops.tracing)
    refresher = asyncio.create_task(_refresh(ops.metrics))
    try:
        if ops.admin is not None:
            async with ops.admin.router.lifespan_context(ops.admin):
                yield
        else:
            yield
    finally:
        refresher.cancel()
        HOOKS.observer = previous


async def _refresh(collected: Metrics) -> None:
    while True:
        collected.refresh()
        await asyncio.sleep(REFRESH_SECONDS)


class _Guarded:
    """The admin app, for admins only: 403 for others (sign-in is auth's business)."""

    def __init__(self, app: ASGIApp, ops: Ops) -> None:
        self.app = app
        self.ops = ops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = await self.ops.allowed(HTTPConnection(scope))
        if status == 200:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4403})
        else:
            text = "Sign in first." if status == 401 else "Only administrators may open this page."
            await PlainTextResponse(text, status_code=status)(scope, receive, send)


class OpsMiddleware:
    """Serves the metrics, times page loads and gives every request an id for the logs."""

    def __init__(self, app: ASGIApp, ops: Ops) -> None:
        self.app = app
        self.ops = ops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        base = scope_base(scope)
        with request_context(scope, app_label(base)):
            if scope["type"] == "http" and path == METRICS_PATH:
                await self._metrics(scope, receive, send)
            elif scope["type"] == "http" and path == "/" and scope["method"] == "GET":
                if self.ops.tracing is None:
                    await self._timed_page(scope, receive, send, app_label(base))
                else:
                    with self.ops.tracing.page_span(app_label(base)):
                        await self._timed_page(scope, receive, send, app_label(base))
            else:
                await self.app(scope, receive, send)

    async def _metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = await self.ops.allowed(HTTPConnection(scope))
        response: Response
        if status == 200:
            body, media_type = await asyncio.to_thread(self.ops.metrics.exposition)
            response = Response(body, media_type=media_type,
                                headers={"Cache-Control": "no-store"})
        else:
            response = PlainTextResponse("metrics need the admin role or the bearer token",
                                         status_code=status,
                                         headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)

    async def _timed_page(self, scope: Scope, receive: Receive, send: Send, app: str) -> None:
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.ops.metrics.page_seconds.labels(app).observe(time.perf_counter() - started)
                self.ops.metrics.page_loads.labels(app, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, timed)
