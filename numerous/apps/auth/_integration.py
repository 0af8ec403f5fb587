"""`auth_extension`: what `create_app(auth_provider=...)` adds to an app.

It adds the login page and the auth API, the gate middleware, the browser module
(`window.numerousAuth`), the provider's start-up and shutdown, and it narrows the runtime's
`identify` seam: a session then belongs to the signed-in user *and* the browser that opened it,
and `current_user()` in `run_app()` returns the `User`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.routing import Route

from .._assets import client_files
from .._runtime import AppRuntime, Extension, Identify, Identity
from ._context import AuthSettings, signed_in
from ._middleware import AuthMiddleware
from ._pages import LoginPage
from ._paths import RouteRules
from ._routes import AuthRoutes, owner_for, owner_prefix
from ._tokens import MIN_SECRET_LENGTH, SHORTEST_SECRET
from .base import SECRET_ENV, BaseAuthProvider

logger = logging.getLogger("numerous.apps.auth")

CLIENT_MODULE = "auth.js"
SIGNED_OUT = "You have been signed out."
_GENERATE = "python -c \"import secrets; print(secrets.token_urlsafe(32))\""


def auth_extension(runtime: AppRuntime, provider: BaseAuthProvider, *,
                   shared_prefix: str = "") -> Extension:
    """What `create_app(auth_provider=...)` adds to an app (see docs/auth.md).

    The login page and the auth API, the gate middleware, the browser module
    (`window.numerousAuth`), the provider's start-up and shutdown, and a narrower `identify`:
    a session then belongs to the signed-in user *and* the browser that opened it, and
    `current_user()` in `run_app()` returns the `User`.

    `shared_prefix` is for combine_apps(shared_auth_provider=...): the app is mounted there,
    its sign-in cookies belong to the combined server, and the combined server starts and
    closes the provider once for all its apps.
    """
    if not isinstance(provider, BaseAuthProvider):
        raise TypeError("auth_provider must be a numerous.apps.auth.BaseAuthProvider, such as "
                        f"EnvAuthProvider(); got {type(provider).__name__}")
    check_secret(provider, runtime.dev)
    options = runtime.settings
    settings = AuthSettings(provider, RouteRules(options.public_routes, options.protected_routes),
                            shared_prefix)
    page = LoginPage(runtime, options.login_template, provider)
    routes = AuthRoutes(provider, page, runtime.sessions)
    provider.on_end_sessions(_session_ender(runtime))
    return Extension(
        name="auth", state=settings,
        routes=[Route(path, endpoint, methods=methods) for path, endpoint, methods
                in [*provider.extra_routes(routes), *routes.table()]],
        middleware=[Middleware(AuthMiddleware, settings=settings, page=page)],
        lifespan=None if shared_prefix else _provider_lifespan(provider),
        identify=lambda browser: _identify(settings, browser),
        scripts=[f"/numerous/js/{client_files().version}/{CLIENT_MODULE}"])


def shared_sign_in(provider: BaseAuthProvider, runtimes: list[AppRuntime]
                   ) -> tuple[list[Route], Middleware] | None:
    """combine_apps(shared_auth_provider=...): the provider's API once at the server's root,
    beside each app's own: a sign-in there signs in to every app sharing it, and a sign-out
    ends the browser's sessions in all of them. None when no app uses the provider.

    Returns the root routes (`/login` excepted: each app's own login page brings its look) and
    a middleware that lets routes of the combined server find the signed-in user."""
    sharing = [runtime for runtime in runtimes
               if getattr(runtime.extension("auth"), "provider", None) is provider]
    if not sharing:
        return None
    settings = AuthSettings(provider, RouteRules(), shared_prefix="/")
    routes = AuthRoutes(provider, LoginPage(sharing[0], None, provider), _EverySession(sharing))
    table = [Route(path, endpoint, methods=methods)
             for path, endpoint, methods in [*provider.extra_routes(routes), *routes.table()]
             if path != "/login"]
    return table, Middleware(AuthContext, settings=settings)


class AuthContext:
    """Lets a request's handlers find the auth settings (`numerous.apps.auth.dependencies`)."""

    def __init__(self, app: Any, settings: AuthSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault(AuthSettings.SCOPE_KEY, self.settings)
        await self.app(scope, receive, send)


class _EverySession:
    """The sessions of every app sharing the provider, as the auth routes see sessions."""

    def __init__(self, runtimes: list[AppRuntime]) -> None:
        self._runtimes = runtimes

    def __iter__(self) -> Any:
        return iter([s for runtime in self._runtimes for s in runtime.sessions])

    def close(self, session: Any, reason: str) -> None:
        for runtime in self._runtimes:
            if runtime.sessions.get(session.id, session.owner) is session:
                runtime.sessions.close(session, reason)


_PLACEHOLDER = re.compile(r"change[-_ ]?me|replace[-_ ]?me|your[-_ ]?secret", re.IGNORECASE)
"""Example values people copy without changing (ours: `.env.example`)."""


def check_secret(provider: BaseAuthProvider, dev: bool) -> None:
    """Refuse, outside dev mode, a JWT secret anyone could guess or forge sign-ins with."""
    if provider.secret_is_generated:
        if not dev:
            raise RuntimeError(
                f"Authentication needs a JWT secret in production: set {SECRET_ENV} (or pass "
                f"jwt_secret=...) to a long random value, e.g. the output of\n    {_GENERATE}\n"
                "Without one, anyone who learns a generated secret could forge sign-ins, and "
                "every restart would sign everyone out. (dev=True uses a generated secret.)")
        logger.warning(
            "\n%s\n  %s is not set: using a generated JWT secret (dev mode only).\n"
            "  Sign-ins end when the server restarts. Set it before deploying:\n"
            "    export %s=$(%s)\n%s", "!" * 78, SECRET_ENV, SECRET_ENV, _GENERATE, "!" * 78)
        return
    length = len(provider.jwt_secret.encode())
    if _PLACEHOLDER.search(provider.jwt_secret) and not dev:
        raise RuntimeError(
            f"The JWT secret ({SECRET_ENV} or jwt_secret=...) is still the placeholder from "
            f".env.example, which anyone can read. Generate one with\n    {_GENERATE}")
    if length < SHORTEST_SECRET and not dev:
        raise RuntimeError(
            f"The JWT secret ({SECRET_ENV} or jwt_secret=...) has {length} bytes; production "
            f"needs at least {SHORTEST_SECRET} ({MIN_SECRET_LENGTH} recommended), or anyone "
            f"holding one token could guess it and forge sign-ins. Generate one with\n"
            f"    {_GENERATE}")
    if length < MIN_SECRET_LENGTH:
        logger.warning("the JWT secret is shorter than %d bytes; use a long random one, e.g. "
                       "%s", MIN_SECRET_LENGTH, _GENERATE)


def _identify(settings: AuthSettings, browser: Identify) -> Identify:
    """Wrap the runtime's identify (which binds a session to a browser) with the user."""
    provider, rules = settings.provider, settings.rules

    async def identify(conn: HTTPConnection, client_token: str) -> Identity | None:
        identity = await browser(conn, client_token)
        if identity is None:
            return None
        found = await signed_in(conn, provider)
        if found is None or not provider.allows(found.user):
            # A public app page may be used signed out; a protected one may not.
            return None if rules.needs_auth("/") else identity
        return identity._replace(owner=owner_for(found.user, identity.owner), user=found.user,
                                 expires_at=found.expires_at)

    return identify


def _session_ender(runtime: AppRuntime) -> Callable[[str], None]:
    """End one user's sessions in this app (every browser), on the sessions' event loop: a
    user disabled or signed out everywhere loses the pages they have open at once."""

    def end(user_id: str) -> None:
        prefix = owner_prefix(user_id)
        for session in runtime.sessions:
            if session.owner.startswith(prefix):
                _on_loop(session.loop, runtime.sessions.close, session, SIGNED_OUT)

    return end


def _on_loop(loop: asyncio.AbstractEventLoop, call: Callable[..., Any], *args: Any) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        call(*args)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(call, *args)  # called from a script's own loop or thread


def _provider_lifespan(provider: BaseAuthProvider) -> Callable[[], Any]:
    """Start and close the provider with the app (its database pool lives on the app's loop)."""

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await provider.startup()
        try:
            yield
        finally:
            await provider.close()

    return lifespan
