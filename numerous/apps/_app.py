"""`create_app`: an app's template and widgets served as a FastAPI application."""

from __future__ import annotations

import asyncio
import logging
import os
import runpy
import secrets
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

from fastapi import FastAPI, Request, WebSocket
from starlette.requests import HTTPConnection
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

from . import _comm
from ._assets import ASSETS, Asset, client_files, content_hash, is_remote, is_url
from ._connection import StarletteConnection
from ._session import AppError, Builder
from ._sessions import AtCapacity, SessionLimits, SessionManager
from ._socket import serve_connection
from ._templating import BUILTIN_STATIC_DIR, Templates, TemplateProblem, json_script
from ._origin import cross_site_reason
from ._protocol import PROTOCOL_VERSION, CloseCode
from ._security import SecurityHeaders, SecurityPolicy
from ._widgets import widget_by_id
from .agent._routes import install_agent_api
from .auth._integration import install_auth

logger = logging.getLogger("numerous.apps")

CLIENT_COOKIE = "numerous_client"
_NO_STORE = {"Cache-Control": "no-store"}
_REVALIDATE = "no-cache"
_POLICY_VIOLATION = 1008


class Identity(NamedTuple):
    """Who a request comes from, as far as sessions are concerned."""

    owner: str
    """What a session is bound to: only requests with the same owner may use it."""
    user: Any = None
    """The authenticated user, or None without authentication."""
    expires_at: float | None = None
    """When the credentials this identity rests on run out (Unix time); None: never. An open
    WebSocket is closed then (4401), and the page renews them and reconnects."""


Identify = Callable[[HTTPConnection, str], Awaitable[Identity | None]]


async def anonymous(connection: HTTPConnection, client_token: str) -> Identity | None:
    """Without authentication a session belongs to the browser holding the client cookie."""
    return Identity(client_token) if client_token else None


class NumerousApp(FastAPI):
    """A FastAPI application serving one Numerous app. `app.numerous` is its runtime."""

    numerous: AppRuntime


class AppRuntime:
    """Everything one app needs at run time: its template, widgets builder and sessions."""

    def __init__(self, *, templates: Templates, builder: Builder, dev: bool,
                 limits: SessionLimits, base_dir: Path, theme_css: str | None,
                 path_prefix: str, security: SecurityPolicy) -> None:
        self.templates = templates
        self.builder = builder
        self.dev = dev
        self.base_dir = base_dir
        self.theme_css = theme_css
        self.path_prefix = path_prefix.rstrip("/")
        self.security = security
        self.sessions = SessionManager(limits, dev=dev)
        self.mount_prefix = ""
        """Where combine_apps() mounted the app; stylesheets below are relative to its root."""
        self.extra_stylesheets: list[str] = []
        self.restore_state = False
        self.share_widgets = False
        self.draining = False
        """Shutting down: new page loads are turned away so that they land elsewhere."""
        self.public_routes: list[str] | None = None
        self.protected_routes: list[str] | None = None
        """As given to create_app; combine_apps() applies them with a shared auth provider."""
        self.extra_scripts: list[str] = []
        """Module scripts every page loads, as paths below the app's base (auth adds one)."""
        self.identify: Identify = anonymous
        """Replaced by authentication: maps a request and its client cookie to an owner."""
        self.carried_values: dict[str, dict[str, dict[str, Any]]] = {}
        """Dev mode: widget values of a browser's previous session, by owner, to restore."""

    def base_css(self) -> Asset:
        override = self.base_dir / "static" / "css" / "numerous-base.css"
        path = override if override.is_file() else BUILTIN_STATIC_DIR / "numerous-base.css"
        body = path.read_bytes()
        return Asset(body, "text/css; charset=utf-8", f'"{content_hash(body)}"')

    def theme(self) -> Asset:
        body = (self.theme_css or "").encode()
        return Asset(body, "text/css; charset=utf-8", f'"{content_hash(body)}"')


# --- capture: apps without a generator ------------------------------------------------------

_capture = threading.local()


def _module_builder(path: Path) -> Builder:
    """Build a session's widgets by running the app module again, as numerous-apps 0.6.2 did.

    Inside that run `create_app(widgets=...)` hands its widgets over instead of building an app,
    so every session gets its own widgets from the module's own code.
    """

    def build() -> dict[str, Any]:
        _capture.widgets = None
        _capture.active = True
        try:
            runpy.run_path(str(path), run_name="__numerous_session__")
        finally:
            _capture.active = False
        widgets: dict[str, Any] | None = _capture.widgets
        if widgets is None:
            raise AppError(f"{path.name} did not call create_app(widgets=...) when run again")
        return widgets

    return build


def create_app(
    template: str,
    dev: bool = False,
    widgets: dict[str, Any] | None = None,
    app_generator: Callable[[], dict[str, Any]] | None = None,
    auth_provider: Any = None,
    login_template: str | None = None,
    public_routes: list[str] | None = None,
    protected_routes: list[str] | None = None,
    path_prefix: str = "",
    base_dir: str | Path | None = None,
    theme_css: str | None = None,
    *,
    session_grace: float = 60.0,
    max_sessions: int | None = None,
    limits: SessionLimits | None = None,
    security: SecurityPolicy | None = None,
    agent_api: bool | None = None,
    restore_state: bool = False,
    share_widgets: bool = False,
) -> NumerousApp:
    """Serve `template` with the widgets of `app_generator()` (or `widgets`).

    Every browser session gets its own widgets, built by calling `app_generator` on the
    session's own thread; its callbacks run on that thread too. Without a generator the
    module that calls `create_app(widgets=...)` is run again for each session, so sessions
    still get widgets of their own.

    The result is a FastAPI application: serve it with uvicorn, mount it, or add routes.

    `restore_state=True` lets a page whose session was lost (a restarted server, or another
    instance behind a load balancer) reload once by itself and put the values it last showed
    back into its new session's widgets, without running callbacks. Leave it off when widget
    values must only ever come from the app's own code.

    `share_widgets=True` builds the widgets once and lets every visitor see and drive the
    same ones: a change in one browser shows in all, and callbacks run on one shared thread.

    `agent_api` serves the agent API (`{base}/api/agent`, docs/agents.md) through which
    scripts and agents read and set widget values and call `@action`s; None turns it on
    in dev mode only.
    """
    caller_file = sys._getframe(1).f_globals.get("__file__")  # noqa: SLF001
    if getattr(_capture, "active", False):
        _capture.widgets = widgets if app_generator is None else app_generator()
        return NumerousApp()
    folder = Path(base_dir) if base_dir is not None else (
        Path(caller_file).resolve().parent if caller_file else Path.cwd())
    builder = _builder(app_generator, widgets, caller_file)
    limits = limits or SessionLimits(grace=session_grace, max_sessions=max_sessions)
    runtime = AppRuntime(templates=Templates(folder, template), builder=builder, dev=dev,
                         limits=limits, base_dir=folder, theme_css=theme_css,
                         path_prefix=path_prefix, security=security or SecurityPolicy())
    runtime.restore_state = restore_state
    runtime.share_widgets = share_widgets
    runtime.public_routes, runtime.protected_routes = public_routes, protected_routes
    return _build_fastapi(runtime, auth_provider=auth_provider, login_template=login_template,
                          public_routes=public_routes, protected_routes=protected_routes,
                          agent_api=agent_api)


def _builder(app_generator: Callable[[], dict[str, Any]] | None,
             widgets: dict[str, Any] | None, caller_file: str | None) -> Builder:
    if app_generator is not None:
        return app_generator
    if widgets is None:
        raise TypeError("create_app() needs app_generator=run_app or widgets={...}")
    if caller_file is None:
        raise TypeError("create_app(widgets=...) must be called from a module file; pass "
                        "app_generator=run_app to build widgets per session instead")
    return _module_builder(Path(caller_file).resolve())


def _build_fastapi(runtime: AppRuntime, auth_provider: Any, login_template: str | None = None,
                   public_routes: list[str] | None = None,
                   protected_routes: list[str] | None = None,
                   agent_api: bool | None = False) -> NumerousApp:
    _comm.install()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        sessions = runtime.sessions.close_all()
        if sessions:
            await asyncio.sleep(0.05)  # let senders tell their browsers
        await asyncio.to_thread(_join_all, sessions, 2.0)

    app = NumerousApp(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.numerous = runtime
    app.add_api_route("/", _page_route(runtime), methods=["GET"], include_in_schema=False)
    app.add_api_route("/numerous/js/{version}/{name}", _client_route, methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/numerous/assets/{name}", _asset_route, methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/numerous/base.css", _css_route(runtime.base_css), methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/numerous/theme.css", _css_route(runtime.theme), methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/favicon.ico", _favicon_route(runtime), methods=["GET"],
                      include_in_schema=False)
    app.add_api_route("/numerous/health", _health_route(runtime), methods=["GET"],
                      include_in_schema=False)
    app.add_api_websocket_route("/numerous/ws", _socket_route(runtime))
    app.mount("/static", RevalidatedStaticFiles(directory=runtime.base_dir / "static",
                                                check_dir=False), name="static")
    if auth_provider is not None:
        install_auth(app, runtime, auth_provider, login_template=login_template,
                     public_routes=public_routes, protected_routes=protected_routes)
    if agent_api or (agent_api is None and runtime.dev):
        # None: on in dev mode, and only while the app stays in it (`numerous run` ends it).
        install_agent_api(app, runtime, follows_dev=agent_api is None)
    # Added last, so outermost: auth's redirects and refusals carry the headers too.
    app.add_middleware(SecurityHeaders, policy=runtime.security)
    return app


class RevalidatedStaticFiles(StaticFiles):
    """The app's own files: the browser checks for a newer version on every use (a cheap 304),
    so an edited stylesheet shows on the next reload instead of whenever its cache expires."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response

    async def check_config(self) -> None:
        # An app without a static/ folder has no static files: 404, not a 500 with a logged
        # traceback. Files are looked up per request, so a folder made later is served.
        if self.directory is not None and os.path.isdir(self.directory):
            await super().check_config()


def _join_all(sessions: list[Any], timeout: float) -> None:
    for session in sessions:
        session.join(timeout / max(1, len(sessions)))


def _base(request: Request | WebSocket) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _page_route(runtime: AppRuntime) -> Callable[[Request], Any]:
    async def page(request: Request) -> Response:
        token = request.cookies.get(CLIENT_COOKIE) or ""
        fresh = len(token) < 32
        if fresh:
            token = secrets.token_urlsafe(24)
        response = await _render_page(runtime, request, token)
        if fresh:
            response.set_cookie(CLIENT_COOKIE, token, httponly=True, samesite="lax",
                                secure=request.url.scheme == "https", path="/")
        return response

    return page


async def _render_page(runtime: AppRuntime, request: Request, token: str) -> Response:
    base = _base(request)
    identity = await runtime.identify(request, token)
    if identity is None:
        return _error_page(runtime, base, 401, "Not signed in", "Sign in to use this app.")
    if runtime.draining:
        return _error_page(runtime, base, 503, "Restarting",
                           "This server is restarting. The page will try again shortly.",
                           retry=True)
    try:
        session, built = runtime.sessions.create(runtime.builder, owner=identity.owner,
                                                 base=base, user=identity.user,
                                                 shared=runtime.share_widgets)
        session.restorable = runtime.restore_state
    except AtCapacity:
        return _error_page(runtime, base, 503, "Please try again shortly",
                           "This app has as many visitors as it can serve right now.",
                           retry=True)
    try:
        widgets = await built
        carried = runtime.carried_values.pop(identity.owner, None)
        if carried:
            await session.call(lambda: session.restore_values(carried))
        assets = _widget_assets(base, widgets.values())
        html = runtime.templates.render_page(
            widgets, head=_head(runtime, base, assets),
            body=_body(runtime, base, session.id, widgets, assets))
    except (AppError, TemplateProblem) as exc:
        runtime.sessions.close(session)
        logger.error("%s", exc)
        detail = getattr(exc, "detail", "") if runtime.dev else ""
        message = str(exc) if runtime.dev else "The app could not be started. The error is logged."
        return _error_page(runtime, base, 500, "App error", message, traceback=detail)
    headers = dict(_NO_STORE)
    if runtime.security.enabled:
        headers["Content-Security-Policy"] = runtime.security.header(_module_urls(session))
    return HTMLResponse(html, headers=headers)


def _module_urls(session: Any) -> list[str]:
    """Widget code the page loads from elsewhere: its origins go into the page's CSP."""
    urls = []
    for comm_id in list(session.comms):
        widget = widget_by_id(comm_id)
        for trait in ("_esm", "_css"):
            value = getattr(widget, trait, None)
            if isinstance(value, str) and is_url(value) and is_remote(value):
                urls.append(value)
    return urls


def _head(runtime: AppRuntime, base: str, assets: dict[str, list[str]]) -> str:
    client = client_files()
    lines = [f'<link rel="stylesheet" href="{base}/numerous/base.css">']
    root = base.removesuffix(runtime.mount_prefix)
    lines += [f'<link rel="stylesheet" href="{root}{url}">' for url in runtime.extra_stylesheets]
    if runtime.theme_css:
        lines.append(f'<link rel="stylesheet" href="{base}/numerous/theme.css">')
    lines += [f'<link rel="modulepreload" href="{base}/numerous/js/{client.version}/{name}">'
              for name in client.closure("main.js")]
    lines += [f'<link rel="modulepreload" href="{url}">' for url in assets["js"]]
    lines += [f'<link rel="preload" as="style" href="{url}">' for url in assets["css"]]
    return "\n".join(lines)


def _widget_assets(base: str, widgets: Any) -> dict[str, list[str]]:
    """The served URLs of the widgets' own modules and stylesheets, each once."""
    assets: dict[str, list[str]] = {"js": [], "css": []}
    for widget in widgets:
        for trait, kind in (("_esm", "js"), ("_css", "css")):
            text = getattr(widget, trait, "")
            if isinstance(text, str) and text and not is_url(text):
                url = f"{base}/numerous/assets/{ASSETS.register(text, kind)}"
                if url not in assets[kind]:
                    assets[kind].append(url)
    return assets


def _body(runtime: AppRuntime, base: str, session_id: str, widgets: dict[str, Any],
          assets: dict[str, list[str]]) -> str:
    client = client_files()
    config = {
        "protocol": PROTOCOL_VERSION,
        "session": session_id,
        "base": base,
        "ws": f"{base}/numerous/ws",
        "widgets": {key: widget.model_id for key, widget in widgets.items()},
        "dev": runtime.dev,
        "grace": runtime.sessions.limits.grace,
        "restore": runtime.restore_state,
        # Loaded while the WebSocket connects, so that rendering need not wait for them.
        "modules": assets["js"],
        "styles": assets["css"],
    }
    return "\n".join([
        runtime.templates.fragments(),
        json_script("numerous-config", config),
        f'<script type="module" src="{base}/numerous/js/{client.version}/main.js"></script>',
        *(f'<script type="module" src="{base}{path}"></script>' for path in runtime.extra_scripts),
    ])


def _error_page(runtime: AppRuntime, base: str, status: int, title: str, message: str,
                traceback: str = "", retry: bool = False) -> HTMLResponse:
    html = runtime.templates.render_builtin(
        "error.html.j2", title=title, error_message=message, traceback=traceback,
        status_code=status, retry=retry, base_css_url=f"{base}/numerous/base.css")
    headers = dict(_NO_STORE)
    if status == 503:
        headers["Retry-After"] = "5"
    return HTMLResponse(html, status_code=status, headers=headers)


async def _client_route(request: Request, version: str, name: str) -> Response:
    asset = client_files().get(version, name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return asset.response(request)


async def _asset_route(request: Request, name: str) -> Response:
    asset = ASSETS.get(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return asset.response(request)


def _css_route(source: Callable[[], Asset]) -> Callable[[Request], Any]:
    async def css(request: Request) -> Response:
        return source().response(request, cache_control=_REVALIDATE)

    return css


def _favicon_route(runtime: AppRuntime) -> Callable[[], Any]:
    async def favicon() -> Response:
        icon = runtime.base_dir / "static" / "favicon.ico"
        if icon.is_file():
            return Response(icon.read_bytes(), media_type="image/x-icon")
        return Response(status_code=204)  # no icon, and no 404 in the browser's console

    return favicon


def _health_route(runtime: AppRuntime) -> Callable[[], Any]:
    """For load balancers and monitors: the process serves, and how many sessions it holds.
    Public even with authentication, and never cached."""

    async def health() -> Response:
        return JSONResponse({"status": "healthy", "sessions": len(runtime.sessions)},
                            headers=_NO_STORE)

    return health


def _socket_route(runtime: AppRuntime) -> Callable[[WebSocket], Any]:
    async def socket(websocket: WebSocket) -> None:
        reason = cross_site_reason(websocket)
        if reason is not None:
            # Another site's page would otherwise join the session with the user's cookies.
            logger.warning("refused a cross-site WebSocket handshake: %s", reason)
            await websocket.close(_POLICY_VIOLATION)  # before accept: the handshake gets 403
            return
        await websocket.accept()
        connection = StarletteConnection(websocket)
        identity = await runtime.identify(websocket, websocket.cookies.get(CLIENT_COOKIE, ""))
        if identity is None:
            await connection.close(CloseCode.UNAUTHORIZED, "not authenticated")
            return
        await serve_connection(connection, runtime.sessions, identity.owner,
                               expires_at=identity.expires_at)

    return socket
