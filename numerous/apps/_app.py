"""`create_app`: an app's template and widgets served as a FastAPI application."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import ipaddress
import logging
import os
import runpy
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from . import _comm, _output
from ._assets import (ASSETS, IMMUTABLE, Asset, client_files, is_remote, is_url,
                      remote_imports)
from ._classic import bundle_names, classic_config, is_classic
from ._client import base_path, client_token, server_root, set_client_cookie, token_or_new
from ._connection import StarletteConnection
from ._files import DEFAULT_MAX_UPLOAD_BYTES, files_extension
from ._heap import settle_start_up
from ._origin import cross_site_reason
from ._pages import Page, PageContext, PageNotFound, page_builder
from ._protocol import PROTOCOL_VERSION, CloseCode
from ._limits import BodyLimit
from ._redis_store import RedisStore
from ._runtime import AppError, AppRuntime, AppSettings, Extension, decide_dev
from ._security import SecurityHeaders, SecurityPolicy
from ._session import Builder
from ._writes import SharedWrites
from ._sessions import AtCapacity, SessionLimits, TooManyNew
from ._socket import serve_connection
from ._store import PREFIX_ENV, STORE_ENV, SessionStore, store_extension
from ._templating import TemplateProblem, json_script
from ._urlstate import apply_query
from ._widgets import share_trait_subclasses, skip_buffer_walks, widget_by_id
from .agent import agent_extension
from .auth import auth_extension
from .ops import (
    ADMIN_DIR,
    ADMIN_TEMPLATE,
    TOKEN_ENV,
    LogFormat,
    admin_builder,
    configure_logging,
    ops_extension,
    prometheus_available,
)
from .ops import metrics as ops_metrics

logger = logging.getLogger("numerous.apps")

_NO_STORE = {"Cache-Control": "no-store"}
_REVALIDATE = "no-cache"
_POLICY_VIOLATION = 1008


class NumerousApp(FastAPI):
    """A FastAPI application serving one Numerous app. `app.numerous` is its runtime.

    The app is assembled in one place: its own routes, then each extension's routes,
    middleware and lifespan as `install()` hands them over, with the security headers
    outermost so that every answer carries them.
    """

    numerous: AppRuntime

    def __init__(self, runtime: AppRuntime | None = None, **options: Any) -> None:
        handlers: dict[int | type[Exception], Any] = (
            {404: _not_found(runtime)} if runtime is not None else {})
        super().__init__(lifespan=_lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                         exception_handlers=handlers, **options)
        if runtime is not None:
            self.numerous = runtime
            self.router.routes.extend(_core_routes(runtime))

    def install(self, extension: Extension) -> None:
        """Add an extension (before the app starts): its routes, middleware and lifespan."""
        self.numerous.add(extension)
        self.router.routes.extend(extension.routes)

    def build_middleware_stack(self) -> Any:
        own = [m for extension in reversed(self.numerous.extensions)
               for m in reversed(extension.middleware)]
        added = self.user_middleware
        policy = self.numerous.security
        self.user_middleware = [
            Middleware(SecurityHeaders, policy=policy),
            Middleware(BodyLimit, default=policy.max_body_bytes, paths=policy.body_limits),
            *added, *own]
        try:
            return super().build_middleware_stack()
        finally:
            self.user_middleware = added


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: AppRuntime = app.numerous  # type: ignore[attr-defined]
    async with AsyncExitStack() as stack:
        for extension in runtime.extensions:
            if extension.lifespan is not None:
                await stack.enter_async_context(extension.lifespan())
        settle_start_up()  # everything imported so far lives as long as the process
        try:
            yield
        finally:
            sessions = runtime.sessions.close_all()
            if sessions:
                await asyncio.sleep(0.05)  # let senders tell their browsers
            await asyncio.to_thread(_join_all, sessions, 2.0)


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
    share_widgets: bool | SharedWrites = False,
    pages: list[Page] | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    task_workers: int | None = None,
    task_queue: int = 32,
    metrics: bool | None = None,
    log_format: LogFormat | None = None,
    store: SessionStore | None = None,
    resume_users: bool = False,
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
    Visitors may then not write markup (`<`) into any trait unless the app allows it, with
    `share_widgets=SharedWrites(markup={"notes": ["value"]})`, which can also name the only
    traits visitors may set (`writable=`); see docs/deploy.md.

    `agent_api` serves the agent API (`{base}/api/agent`, docs/agents.md) through which
    scripts and agents read and set widget values and call `@action`s; None turns it on
    in dev mode only.

    `pages` adds pages besides `/`, each a path (with typed parameters such as
    `/orders/{order_id:int}`), a template and a builder (docs/pages.md). Unknown paths get
    the app's 404 page. `max_upload_bytes` caps each file sent to an upload widget.

    `task_workers` gives the app a pool of its own for background tasks (`start_task`):
    that many run at once and `task_queue` more wait, further ones are refused; without it the
    app's tasks share the process-wide pool (`configure_tasks`).

    `store=RedisStore("redis://...")` keeps every session's widget values in Redis (written
    at most four times a second, with a TTL), so that a page whose instance went away is
    rebuilt with its last values on another one, and shared widgets stay the same on every
    instance; without it, `NUMEROUS_STORE` (a Redis URL, as `numerous run --store` sets it)
    names one. `resume_users=True` lets a signed-in user's new session (another tab or
    device) start from the values that user last had. See docs/deploy.md.

    `metrics` serves Prometheus metrics at `{base}/numerous/metrics` and the admin page at
    `{base}/numerous/admin` (docs/operate.md); None turns them on in dev mode, or when
    `NUMEROUS_METRICS_TOKEN` is set. `log_format="json"` writes one JSON object per log line.
    """
    caller_file = sys._getframe(1).f_globals.get("__file__")  # noqa: SLF001
    if getattr(_capture, "active", False):
        _capture.widgets = widgets if app_generator is None else app_generator()
        return NumerousApp()
    folder = Path(base_dir) if base_dir is not None else (
        Path(caller_file).resolve().parent if caller_file else Path.cwd())
    settings = AppSettings(
        template=template, base_dir=folder, dev=decide_dev(dev), dev_requested=dev,
        path_prefix=path_prefix.rstrip("/"), theme_css=theme_css,
        security=security or SecurityPolicy(),
        limits=limits or _limits(session_grace, max_sessions),
        restore_state=restore_state, share_widgets=bool(share_widgets),
        shared_writes=share_widgets if isinstance(share_widgets, SharedWrites) else None,
        login_template=login_template,
        public_routes=_routes_or_none(public_routes),
        protected_routes=_routes_or_none(protected_routes), pages=_pages(pages),
        max_upload_bytes=max_upload_bytes, task_workers=task_workers, task_queue=task_queue)
    app = NumerousApp(AppRuntime(settings, _builder(app_generator, widgets, caller_file)))
    app.install(files_extension(app.numerous))
    if auth_provider is not None:
        app.install(auth_extension(app.numerous, auth_provider))
    if agent_api or (agent_api is None and settings.dev):
        app.install(agent_extension(app.numerous))
    if log_format is not None:
        configure_logging(log_format)
    store = store if store is not None else _store_from_env()
    if store is not None:
        app.install(store_extension(app.numerous, store, resume_users=resume_users))
    if _metrics_wanted(metrics, settings.dev):
        app.install(ops_extension(app.numerous, admin=_admin_app(app.numerous)))
    return app


def _store_from_env() -> SessionStore | None:
    url = os.environ.get(STORE_ENV, "").strip()
    prefix = os.environ.get(PREFIX_ENV, "").strip() or "numerous"
    return RedisStore(url, prefix=prefix) if url else None


def _pages(pages: list[Page] | None) -> tuple[Page, ...]:
    paths = [page.path for page in pages or ()]
    repeated = {path for path in paths if paths.count(path) > 1 or path == "/"}
    if repeated:
        raise ValueError(f"pages need paths of their own (\"/\" is the app's template): "
                         f"{', '.join(sorted(repeated))}")
    return tuple(pages or ())


def _limits(grace: float, max_sessions: int | None) -> SessionLimits:
    """`max_sessions=None` keeps the cap the machine allows (SessionLimits' default)."""
    if max_sessions is None:
        return SessionLimits(grace=grace)
    return SessionLimits(grace=grace, max_sessions=max_sessions)


def _metrics_wanted(option: bool | None, dev: bool) -> bool:
    if option is not None:
        return option
    # On by default where someone asked for it, and in dev mode when the library is there.
    return bool(os.environ.get(TOKEN_ENV)) or (dev and prometheus_available())


def _admin_app(runtime: AppRuntime) -> NumerousApp:
    """The admin page of `runtime`: an app of its own (see numerous.apps.ops)."""
    return create_app(ADMIN_TEMPLATE, base_dir=ADMIN_DIR, metrics=False, agent_api=False,
                      app_generator=admin_builder(runtime, ops_metrics()),
                      security=runtime.security)


def _routes_or_none(routes: list[str] | None) -> tuple[str, ...] | None:
    return None if routes is None else tuple(routes)


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


def _core_routes(runtime: AppRuntime) -> list[BaseRoute]:
    """The routes every app has: its page, the client and widget code, its WebSocket."""
    _comm.install()
    _output.install()
    share_trait_subclasses()
    skip_buffer_walks()
    main = Page("/", runtime.settings.template)
    return [
        *(Route(page.path, _page_route(runtime, page), methods=["GET"])
          for page in (main, *runtime.settings.pages)),
        Route("/numerous/js/{version}/{name}", _client_route, methods=["GET"]),
        Route("/numerous/assets/{name}", _asset_route(runtime), methods=["GET"]),
        Route("/numerous/base.css", _css_route(runtime.base_css), methods=["GET"]),
        Route("/numerous/theme.css", _css_route(runtime.theme), methods=["GET"]),
        Route("/favicon.ico", _favicon_route(runtime), methods=["GET"]),
        Route("/numerous/health", _health_route(runtime), methods=["GET"]),
        WebSocketRoute("/numerous/ws", _socket_route(runtime)),
        Mount("/static", RevalidatedStaticFiles(directory=runtime.base_dir / "static",
                                                check_dir=False), name="static"),
    ]


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


def _page_route(runtime: AppRuntime, page: Page) -> Callable[[Request], Any]:
    async def serve(request: Request) -> Response:
        token, fresh = token_or_new(request)
        response = await _render_page(runtime, request, token, page)
        return set_client_cookie(response, request, token) if fresh else response

    return serve


def _not_found(runtime: AppRuntime) -> Callable[[Request, Exception], Any]:
    """A 404 is the app's error page for a browser, and stays JSON for everything else."""

    async def not_found(request: Request, exc: Exception) -> Response:
        if "text/html" not in request.headers.get("accept", ""):
            detail = exc.detail if isinstance(exc, HTTPException) else "Not Found"
            return JSONResponse({"detail": detail}, status_code=404)
        return _page_not_found(runtime, base_path(request))

    return not_found


def _page_context(request: Request, base: str, user: Any) -> PageContext:
    path = request.url.path
    if base and path.startswith(base):
        path = path[len(base):] or "/"
    return PageContext(path=path, path_params=dict(request.path_params),
                       query=dict(request.query_params), user=user, base=base)


async def _render_page(runtime: AppRuntime, request: Request, token: str,
                       page: Page) -> Response:
    base = base_path(request)
    identity = await runtime.identify(request, token)
    if identity is None:
        return _error_page(runtime, base, 401, "Not signed in", "Sign in to use this app.")
    if runtime.draining:
        return _error_page(runtime, base, 503, "Restarting",
                           "This server is restarting. The page will try again shortly.",
                           retry=True)
    context = _page_context(request, base, identity.user)
    builder = page_builder(page.builder or runtime.builder, context, after=apply_query)
    swap = runtime.dev and SWAP_HEADER in request.headers
    try:
        session, widgets = await runtime.open_session(identity, base, builder,
                                                      _client_address(request),
                                                      keep_carried=swap)
        served = runtime.sessions.assets
        every = _session_widgets(session)
        # The placed widgets' code goes into the config; that of every widget the client
        # initializes (their children, say) is preloaded with the rest
        # instead of fetched after `ready`.
        assets, preloads = _widget_assets(base, widgets.values(), every, served)
        classic = _classic_assets(base, every, (preloads, assets), served)
        html = runtime.templates.render_page(
            widgets, head=_head(runtime, request, preloads),
            head_start=client_files().early_element,
            body=_body(runtime, base, session.id, widgets, assets, context, classic),
            context={"base": base, "page": context, "page_url": context.url},
            template=page.template)
    except TooManyNew:
        return _error_page(runtime, base, 429, "Please try again shortly",
                           "Too many new visits from your address; try again in a minute.")
    except AtCapacity:
        return _error_page(runtime, base, 503, "Please try again shortly",
                           "This app has as many visitors as it can serve right now.",
                           retry=True)
    except AppError as exc:
        if isinstance(exc.__cause__, PageNotFound):
            return _page_not_found(runtime, base)
        return _app_error(runtime, base, exc)
    except TemplateProblem as exc:
        runtime.sessions.close(session)
        return _app_error(runtime, base, exc)
    headers = dict(_NO_STORE)
    if runtime.security.enabled:
        headers["Content-Security-Policy"] = runtime.security.header(
            _module_urls(every), inline=[client_files().early_hash])
    kept = identity.user is None
    if kept or runtime.dev:
        tag = _shell_tag(html, session.id, widgets, headers)
        if runtime.dev:
            # After a reload of the app's code its pages ask again with this tag: a match
            # swaps the new session in without reloading the page (_dev.py).
            session.page_tag = tag
        if request.headers.get("if-none-match") == tag:
            if swap:
                runtime.carried_values.pop(identity.owner, None)  # this session has them
            runtime.sessions.hold(identity.owner, _page_address(request), session)
            return Response(status_code=304,
                            headers={**(_KEPT_PAGE if kept else headers), "ETag": tag})
        if kept:
            headers.update(_KEPT_PAGE, ETag=tag)
    return _compressed_page(request, html, headers)


SWAP_HEADER = "x-numerous-swap"
"""Dev mode: the page asks whether new code left it unchanged (`_dev.py`). The session built
for the request gets the values carried over the reload without using them up: when the
page changed, it reloads, and the session of that load is the one to get them."""

_KEPT_PAGE = {"Cache-Control": "private, no-cache"}
"""A page without a signed-in user: the browser may keep it and ask whether it changed."""


def _shell_tag(html: str, session_id: str, widgets: dict[str, Any],
               headers: dict[str, str]) -> str:
    """The page's validator: a hash of the page without what differs between its sessions
    (the session and model ids), and of its policy. Equal tags mean a browser's copy differs
    from this page only in those ids: the browser shows its copy (a 304), and the session
    built for this load is held for it (`SessionManager.hold`)."""
    shell = html.replace(session_id, "")
    for widget in widgets.values():
        shell = shell.replace(widget.model_id, "")
    digest = hashlib.blake2b(digest_size=12)
    digest.update(shell.encode())
    digest.update(headers.get("Content-Security-Policy", "").encode())
    return f'W/"{digest.hexdigest()}"'


def _page_address(request: Request) -> str:
    """The path and query of a page as its script reads them (`location`)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _compressed_page(request: Request, html: str, headers: dict[str, str]) -> Response:
    """The page, gzipped for a browser that takes it (about 55 % fewer bytes on every load).

    Compressing a secret next to text an attacker chooses can leak the secret through the
    compressed size (BREACH). The page's one secret is its session id, and it is new in every
    response, so there is nothing to guess across requests; cookies are not in the body."""
    body = html.encode()
    headers["Vary"] = "Accept-Encoding"
    if len(body) >= 1024 and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body, compresslevel=6, mtime=0)
    return Response(body, media_type="text/html", headers=headers)


def _app_error(runtime: AppRuntime, base: str, exc: AppError | TemplateProblem) -> Response:
    logger.error("%s", exc)
    detail = getattr(exc, "detail", "") if runtime.dev else ""
    message = str(exc) if runtime.dev else "The app could not be started. The error is logged."
    return _error_page(runtime, base, 500, "App error", message, traceback=detail)


def _page_not_found(runtime: AppRuntime, base: str) -> Response:
    return _error_page(runtime, base, 404, "Page not found", "There is no page at this address.")


def _session_widgets(session: Any) -> list[Any]:
    """Every widget of the session: those of the template, their children, Layouts, ..."""
    found = (widget_by_id(comm_id) for comm_id in list(session.comms))
    return [widget for widget in found if widget is not None]


def _classic_assets(base: str, widgets: list[Any], lists: tuple[dict[str, list[str]], ...],
                    served: set[str]) -> dict[str, Any]:
    """The page config's `classic` entry; with classic widgets among the session's `widgets`,
    their bundle is also loaded early (a page of anywidgets alone never loads it). The files
    it names are this app's to serve."""
    config = classic_config(f"{base}/numerous/assets/", widgets)
    urls = [config["module"], config["style"], *config["libraries"].values()]
    served.update(url.rsplit("/", 1)[-1] for url in urls)
    if any(is_classic(widget) for widget in widgets):
        for assets in lists:  # the page's preloads, and the config's early loads
            assets["js"].append(config["module"])
            assets["css"].append(config["style"])
    return dict(config)


def _client_address(request: Request) -> str | None:
    """The client's IP address (uvicorn has put a trusted proxy's X-Forwarded-For there),
    for the limit on new sessions per address. An in-process test transport has a name, not
    an address, and is not limited."""
    host = request.client.host if request.client is not None else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _module_urls(widgets: list[Any]) -> list[str]:
    """Widget code the page loads from elsewhere: its origins go into the page's CSP."""
    urls = []
    for widget in widgets:
        for trait in ("_esm", "_css"):
            value = getattr(widget, trait, None)
            if isinstance(value, str) and is_url(value) and is_remote(value):
                urls.append(value)
            elif trait == "_esm" and isinstance(value, str):
                urls += remote_imports(value)
    return urls


def _head(runtime: AppRuntime, request: Request, assets: dict[str, list[str]]) -> str:
    client = client_files()
    base, root = base_path(request), server_root(request)
    version = _version(runtime.base_css())
    lines = [f'<link rel="stylesheet" href="{base}/numerous/base.css?v={version}">']
    lines += [f'<link rel="stylesheet" href="{root}{url}">' for url in runtime.stylesheets]
    if runtime.theme_css:
        lines.append(f'<link rel="stylesheet" href="{base}/numerous/theme.css'
                     f'?v={_version(runtime.theme())}">')
    lines.append(f'<link rel="modulepreload" href="{base}/numerous/js/{client.version}/main.js">')
    lines += [f'<link rel="modulepreload" href="{url}">' for url in assets["js"]]
    lines += [f'<link rel="preload" as="style" href="{url}">' for url in assets["css"]]
    return "\n".join(lines)


def _widget_assets(base: str, placed: Any, every: list[Any],
                   served: set[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The served URLs of the widgets' own modules and stylesheets, each once: those of the
    `placed` widgets (the page config's early loads), and those of `every` widget of the
    session besides (the page's preloads). Each text is registered once."""
    urls: dict[int, list[tuple[str, str]]] = {}

    def of(widget: Any) -> list[tuple[str, str]]:
        found = urls.get(id(widget))
        if found is None:
            found = urls[id(widget)] = []
            for trait, kind in (("_esm", "js"), ("_css", "css")):
                text = getattr(widget, trait, "")
                if isinstance(text, str) and text and not is_url(text):
                    name = ASSETS.register(text, kind, served)
                    found.append((kind, f"{base}/numerous/assets/{name}"))
        return found

    def collect(widgets: Any) -> dict[str, list[str]]:
        assets: dict[str, list[str]] = {"js": [], "css": []}
        for widget in widgets:
            for kind, url in of(widget):
                if url not in assets[kind]:
                    assets[kind].append(url)
        return assets

    placed = list(placed)
    return collect(placed), collect([*placed, *every])


def _body(runtime: AppRuntime, base: str, session_id: str, widgets: dict[str, Any],
          assets: dict[str, list[str]], page: PageContext, classic: dict[str, Any]) -> str:
    client = client_files()
    config = {
        "protocol": PROTOCOL_VERSION,
        "session": session_id,
        "base": base,
        "ws": f"{base}/numerous/ws",
        "widgets": {key: widget.model_id for key, widget in widgets.items()},
        "dev": runtime.dev,
        "grace": runtime.sessions.limits.grace,
        "restore": runtime.settings.restore_state,
        # With a session store a lost page reloads and names its old session to be rebuilt.
        "resume": runtime.extension("store") is not None,
        # Loaded while the WebSocket connects, so that rendering need not wait for them.
        "modules": assets["js"],
        "styles": assets["css"],
        "query": [binding for _, binding in page.bindings],
        "classic": classic,
    }
    return "\n".join([
        runtime.templates.fragments(),
        json_script("numerous-config", config),
        f'<script type="module" src="{base}/numerous/js/{client.version}/main.js"></script>',
        *(f'<script type="module" src="{base}{path}"></script>' for path in runtime.scripts),
    ])


def _error_page(runtime: AppRuntime, base: str, status: int, title: str, message: str,
                traceback: str = "", retry: bool = False) -> HTMLResponse:
    html = runtime.templates.render_builtin(
        "error.html.j2", title=title, error_message=message, traceback=traceback,
        status_code=status, retry=retry, base_css_url=f"{base}/numerous/base.css")
    headers = dict(_NO_STORE)
    if status == 503:
        headers["Retry-After"] = "5"
    elif status == 429:
        headers["Retry-After"] = "30"
    return HTMLResponse(html, status_code=status, headers=headers)


async def _client_route(request: Request) -> Response:
    asset = client_files().get(request.path_params["version"], request.path_params["name"])
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return asset.response(request)


def _asset_route(runtime: AppRuntime) -> Callable[[Request], Any]:
    """Widget code this app's sessions use: the store is one per process, but under
    `combine_apps` a public app must not serve a protected app's code. The classic-widget
    bundle is the framework's own and every app serves it."""
    served = runtime.sessions.assets
    served.update(bundle_names())

    async def asset_route(request: Request) -> Response:
        name = request.path_params["name"]
        asset = ASSETS.get(name) if name in served else None
        if asset is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return asset.response(request)

    return asset_route


def _version(asset: Asset) -> str:
    """The `?v=` of a stylesheet's link: its content hash, so the browser keeps it for good."""
    return asset.etag.strip('"')[:12]


def _css_route(source: Callable[[], Asset]) -> Callable[[Request], Any]:
    """A stylesheet of the framework's: kept for good at the version the page links (no
    request on a reload), revalidated at any other URL (an old page, a hand-written link)."""

    async def css(request: Request) -> Response:
        asset = source()
        current = request.query_params.get("v") == _version(asset)
        return asset.response(request, cache_control=IMMUTABLE if current else _REVALIDATE)

    return css


def _favicon_route(runtime: AppRuntime) -> Callable[[Request], Any]:
    async def favicon(_: Request) -> Response:
        # Cached either way: browsers ask for it on every page load otherwise.
        icon = runtime.base_dir / "static" / "favicon.ico"
        if icon.is_file():
            return Response(icon.read_bytes(), media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=3600"})
        # No icon, and no 404 in the browser's console.
        return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})

    return favicon


def _health_route(runtime: AppRuntime) -> Callable[[Request], Any]:
    """For load balancers and monitors: the process serves (and, where the app's policy says
    so, how many sessions it holds: not for anyone's eyes by default). Public even with
    authentication, and never cached."""

    async def health(_: Request) -> Response:
        body: dict[str, Any] = {"status": "healthy"}
        if runtime.security.health_sessions:
            body["sessions"] = len(runtime.sessions)
        return JSONResponse(body, headers=_NO_STORE)

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
        connection = runtime.watch(StarletteConnection(websocket), websocket)
        identity = await runtime.identify(websocket, client_token(websocket))
        if identity is None:
            await connection.close(CloseCode.UNAUTHORIZED, "not authenticated")
            return
        await serve_connection(connection, runtime.sessions, identity.owner,
                               expires_at=identity.expires_at, on_join=runtime.session_joined)

    return socket


def runtimes(app: Any) -> list[AppRuntime]:
    """The Numerous apps inside `app`: itself, or those combine_apps() mounted."""
    if isinstance(app, NumerousApp):
        return [app.numerous]
    found = []
    for route in getattr(app, "routes", []):
        inner = getattr(route, "app", None)
        if isinstance(inner, NumerousApp):
            found.append(inner.numerous)
    return found
