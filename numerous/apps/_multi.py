"""`combine_apps`: several apps under one server, each under its own path prefix."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import escape

from ._app import NumerousApp, RevalidatedStaticFiles
from ._limits import BodyLimit
from ._security import SecurityPolicy, page_headers
from .auth._context import AuthSettings
from .auth._integration import install_auth
from .auth._pages import LoginPage
from .auth._paths import RouteRules
from .auth._routes import AuthRoutes

SHARED_STATIC = "/shared-static"
SHARED_THEME = f"{SHARED_STATIC}/css/theme.css"


def combine_apps(
    apps: dict[str, NumerousApp],
    shared_static_dir: Path | str | None = None,
    shared_theme_css: str | None = None,
    root_redirect: str | None = None,
    shared_auth_provider: Any = None,
    title: str = "Numerous Apps",
) -> FastAPI:
    """Serve each app of `apps` under its key, e.g. `{"/app1": app1, "/app2": app2}`.

    Each app keeps its own sessions, widgets, static files and WebSocket. Their start-up and
    shutdown run with the combined server's. `/health` reports the mounted apps; `/` redirects
    to `root_redirect` or lists the apps. `shared_auth_provider` protects every app that has
    no provider of its own, with one sign-in for all of them; an app created with
    `protected_routes=[]` stays open to everyone (and still knows a signed-in user).
    """
    prefixes = _check_prefixes(apps)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if shared_auth_provider is not None:
                await shared_auth_provider.startup()
                stack.push_async_callback(shared_auth_provider.close)
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    main = FastAPI(title=title, lifespan=lifespan, docs_url=None, redoc_url=None,
                   openapi_url=None)
    main.add_api_route("/health", _health(prefixes), methods=["GET"])
    main.add_api_route("/favicon.ico", _no_icon, methods=["GET"], include_in_schema=False)
    first = next(iter(apps.values())).numerous.security
    main.add_api_route("/", _root(prefixes, root_redirect, title, first), methods=["GET"],
                       include_in_schema=False)
    if shared_theme_css is not None:
        main.add_api_route(SHARED_THEME, _theme(shared_theme_css), methods=["GET"],
                           include_in_schema=False)
    if shared_static_dir is not None:
        main.mount(SHARED_STATIC, RevalidatedStaticFiles(directory=Path(shared_static_dir),
                                                         check_dir=False), name="shared-static")
    for prefix, app in zip(prefixes, apps.values(), strict=True):
        app.numerous.mount_prefix = prefix
        if shared_auth_provider is not None and not hasattr(app.state, "numerous_auth"):
            # One sign-in for every app: apps without a provider of their own use the shared
            # one, with cookies that belong to the combined server.
            install_auth(app, app.numerous, shared_auth_provider, shared_prefix=prefix,
                         public_routes=app.numerous.public_routes,
                         protected_routes=app.numerous.protected_routes)
        if shared_theme_css is not None:
            app.numerous.extra_stylesheets.append(SHARED_THEME)
        main.add_api_route(prefix, _redirect(f"{prefix}/"), methods=["GET"],
                           include_in_schema=False)
    if shared_auth_provider is not None:
        _install_shared_auth(main, shared_auth_provider, prefixes, list(apps.values()))
    for prefix, app in zip(prefixes, apps.values(), strict=True):
        main.mount(prefix, app)
    # The server's own routes (a shared sign-in, routes added to it); each app limits its own.
    main.add_middleware(BodyLimit, default=SecurityPolicy().max_body_bytes,
                        paths=dict.fromkeys(prefixes))
    return main


def _install_shared_auth(main: FastAPI, provider: Any, prefixes: list[str],
                         apps: list[NumerousApp]) -> None:
    """The shared provider's API once at the root, `/api/auth/...`, beside each app's own
    `{prefix}/api/auth/...`: a sign-in there signs in to every app, and a sign-out ends the
    browser's sessions in all of them. `/login` goes to the first shared app's login page,
    which brings its look (template, stylesheets) along."""
    shared = [(prefix, app) for prefix, app in zip(prefixes, apps, strict=True)
              if getattr(getattr(app.state, "numerous_auth", None), "provider", None) is provider]
    if not shared:
        return
    first_prefix, first = shared[0]
    main.state.numerous_auth = AuthSettings(provider, RouteRules(), shared_prefix="/")
    routes = AuthRoutes(provider, LoginPage(first.numerous, None),
                        _EveryApp([app.numerous for _, app in shared]))  # type: ignore[arg-type]
    for path, endpoint, methods in routes.table():
        if path == "/login":
            endpoint = _redirect(f"{first_prefix}/login")
        main.add_route(path, endpoint, methods=methods, include_in_schema=False)


class _EveryApp:
    """What the auth routes need of an app runtime, over every app sharing the provider."""

    def __init__(self, runtimes: list[Any]) -> None:
        self.sessions = _EverySession(runtimes)


class _EverySession:
    def __init__(self, runtimes: list[Any]) -> None:
        self._runtimes = runtimes

    def __iter__(self) -> Any:
        return iter([s for runtime in self._runtimes for s in runtime.sessions])

    def close(self, session: Any, reason: str) -> None:
        for runtime in self._runtimes:
            if runtime.sessions.get(session.id, session.owner) is session:
                runtime.sessions.close(session, reason)


def _check_prefixes(apps: dict[str, NumerousApp]) -> list[str]:
    if not apps:
        raise ValueError("combine_apps() needs at least one app")
    prefixes = []
    for key, app in apps.items():
        prefix = "/" + key.strip("/")
        if prefix == "/" or "//" in prefix:
            raise ValueError(f"combine_apps(): {key!r} is not a path prefix such as '/app1'")
        runtime = getattr(app, "numerous", None)
        if runtime is None:
            raise TypeError(f"combine_apps(): the app under {key!r} was not made by create_app()")
        declared = runtime.path_prefix
        if declared and declared != prefix:
            raise ValueError(
                f"combine_apps(): the app under {key!r} was created with "
                f"path_prefix={declared!r}; the two must be the same")
        prefixes.append(prefix)
    return prefixes


def _health(prefixes: list[str]) -> Any:
    async def health() -> JSONResponse:
        return JSONResponse({"status": "healthy", "apps": prefixes})

    return health


def _root(prefixes: list[str], root_redirect: str | None, title: str,
          policy: SecurityPolicy) -> Any:
    async def root(request: Request) -> Response:
        base = str(request.scope.get("root_path", "")).rstrip("/")
        if root_redirect is not None:
            return RedirectResponse(base + "/" + root_redirect.lstrip("/"), status_code=307)
        items = "\n".join(f'<li><a href="{escape(base + p)}/">{escape(p.strip("/"))}</a></li>'
                          for p in prefixes)
        html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
                f'{escape(title)}</title><link rel="stylesheet" href="{escape(base + prefixes[0])}'
                f'/numerous/base.css"></head><body class="numerous-page"><main '
                f'class="numerous-error-page"><h1>{escape(title)}</h1><ul>{items}</ul></main>'
                "</body></html>")
        return HTMLResponse(html, headers=page_headers(policy, request.url.scheme == "https"))

    return root


async def _no_icon() -> Response:
    return Response(status_code=204)


def _theme(css: str) -> Any:
    async def theme() -> Response:
        return Response(css, media_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    return theme


def _redirect(target: str) -> Any:
    """To `target` below the server's root path, keeping the query string."""
    async def redirect(request: Request) -> RedirectResponse:
        base = str(request.scope.get("root_path", "")).rstrip("/")
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{base}{target}{query}", status_code=307)

    return redirect
