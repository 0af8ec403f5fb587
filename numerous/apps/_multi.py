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
from ._client import base_path
from ._limits import BodyLimit
from ._runtime import Extension
from ._security import SecurityPolicy, page_headers
from .auth import auth_extension, shared_sign_in

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
        runtime = app.numerous
        if shared_auth_provider is not None and runtime.extension("auth") is None:
            # One sign-in for every app: apps without a provider of their own use the shared
            # one, with cookies that belong to the combined server.
            app.install(auth_extension(runtime, shared_auth_provider, shared_prefix=prefix))
        if shared_theme_css is not None:
            app.install(Extension(name="shared-theme", stylesheets=[SHARED_THEME]))
        main.add_api_route(prefix, _redirect(f"{prefix}/"), methods=["GET"],
                           include_in_schema=False)
    if shared_auth_provider is not None:
        _share_sign_in(main, shared_auth_provider, prefixes, list(apps.values()))
    for prefix, app in zip(prefixes, apps.values(), strict=True):
        main.mount(prefix, app)
    # The server's own routes (a shared sign-in, routes added to it); each app limits its own.
    main.add_middleware(BodyLimit, default=SecurityPolicy().max_body_bytes,
                        paths=dict.fromkeys(prefixes))
    return main


def _share_sign_in(main: FastAPI, provider: Any, prefixes: list[str],
                   apps: list[NumerousApp]) -> None:
    """The shared provider's API once at the root, `/api/auth/...`, beside each app's own;
    `/login` goes to the first sharing app's login page, which brings its look along."""
    shared = shared_sign_in(provider, [app.numerous for app in apps])
    if shared is None:
        return
    routes, context = shared
    main.router.routes.extend(routes)
    main.add_middleware(context.cls, *context.args, **context.kwargs)
    first = next(prefix for prefix, app in zip(prefixes, apps, strict=True)
                 if app.numerous.extension("auth").provider is provider)
    main.add_api_route("/login", _redirect(f"{first}/login"), methods=["GET"],
                       include_in_schema=False)


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
        declared = runtime.settings.path_prefix
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
        base = base_path(request)
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
        base = base_path(request)
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{base}{target}{query}", status_code=307)

    return redirect
