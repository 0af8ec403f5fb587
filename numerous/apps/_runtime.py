"""The runtime of one app: its settings, its sessions, and what its extensions contribute.

This is the leaf of the framework's core: it knows sessions, templates and the security
policy, and nothing of authentication, the agent API, the test harness or the command line.
Those are extensions: each hands the app an `Extension` (routes, middleware, a lifespan, and
optionally a narrower `identify` and page scripts), and the app assembles them in one place
(`NumerousApp.install`). Dependencies run one way: extensions import this module, never the
reverse.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from ._assets import Asset, content_hash
from ._connection import Connection
from ._observe import HOOKS
from ._pages import Page
from ._protocol import Hello
from ._security import SecurityPolicy
from ._session import AppError, Builder, Session
from ._sessions import SessionLimits, SessionManager
from ._tasks import TaskPool
from ._templating import BUILTIN_STATIC_DIR, Templates
from ._writes import SharedWrites


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


@dataclass(frozen=True)
class AppSettings:
    """What `create_app()` was given, decided once: nothing changes it afterwards."""

    template: str
    base_dir: Path
    dev: bool = False
    dev_requested: bool = False
    """Whether the app asked for dev mode (`numerous run` may have turned it off)."""
    path_prefix: str = ""
    theme_css: str | None = None
    security: SecurityPolicy = field(default_factory=SecurityPolicy)
    limits: SessionLimits = field(default_factory=SessionLimits)
    restore_state: bool = False
    share_widgets: bool = False
    shared_writes: SharedWrites | None = None
    """What visitors may write into the shared widgets; None: the default rule (no markup)."""
    login_template: str | None = None
    public_routes: tuple[str, ...] | None = None
    protected_routes: tuple[str, ...] | None = None
    pages: tuple[Page, ...] = ()
    """The app's pages besides `/` (its `template` and builder)."""
    max_upload_bytes: int = 200 * 1024 * 1024
    """The largest file a session accepts over the upload route (per file)."""
    task_workers: int | None = None
    """Background tasks run at once for this app's sessions (None: the process-wide pool)."""
    task_queue: int = 32
    """Tasks that wait for a worker before starting more is refused (with task_workers)."""


Lifespan = Callable[[], AbstractAsyncContextManager[None]]
Joined = Callable[[Session, Hello], Awaitable[bool]]


@dataclass(frozen=True)
class Extension:
    """What a capability (authentication, the agent API, ...) adds to an app."""

    name: str
    routes: Sequence[BaseRoute] = ()
    middleware: Sequence[Middleware] = ()
    """Innermost first: the first one wraps the routes, the last one wraps the others."""
    lifespan: Lifespan | None = None
    """Entered when the app starts, in install order; left when it stops, after its sessions."""
    identify: Callable[[Identify], Identify] | None = None
    """Narrows who owns a session: given the identify so far, returns the new one."""
    watch: Callable[[Connection, HTTPConnection], Connection] | None = None
    """Wraps each WebSocket connection of the app (to count its frames, say)."""
    scripts: Sequence[str] = ()
    """Module scripts every page loads, as paths below the app's base."""
    stylesheets: Sequence[str] = ()
    """Stylesheets every page loads, as paths below the server's root."""
    state: Any = None
    """The extension's own object, for whoever asks `runtime.extension(name)`."""
    session_setup: Callable[[], None] | None = None
    """Run on a new session's thread before its widgets are built (not for shared widgets):
    what every session needs, such as its upload token."""
    session_opened: Callable[[Session], None] | None = None
    """Called on the event loop once a new session's widgets are built (the session store
    starts keeping its values here)."""
    session_joined: Joined | None = None
    """Awaited on a session's first connection, before its snapshot: may put values back
    into the widgets (the session store); True when it did, and the browser's offer of
    values (restore_state) is then left aside."""


# --- who decides dev mode --------------------------------------------------------------------

_serving_dev: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "numerous_serving_dev", default=None)


@contextmanager
def serving_mode(dev: bool | None) -> Iterator[None]:
    """Apps created inside this block get dev mode `dev` whatever they ask for (None: theirs).

    `numerous run` loads an app inside `serving_mode(False)`, `numerous dev` inside
    `serving_mode(True)`, so an app's settings are right from the start instead of corrected
    after it is built.
    """
    token = _serving_dev.set(dev)
    try:
        yield
    finally:
        _serving_dev.reset(token)


def decide_dev(requested: bool) -> bool:
    forced = _serving_dev.get()
    return requested if forced is None else forced


# --- the runtime ----------------------------------------------------------------------------


class AppRuntime:
    """Everything one app needs at run time: its settings, widgets builder and sessions, and
    what its extensions contribute."""

    def __init__(self, settings: AppSettings, builder: Builder) -> None:
        self.settings = settings
        self.templates = Templates(settings.base_dir, settings.template)
        self.builder = builder
        self.sessions = SessionManager(settings.limits, dev=settings.dev,
                                       writes=settings.shared_writes)
        self.extensions: tuple[Extension, ...] = ()
        self.identify: Identify = anonymous
        self.task_pool = (TaskPool(settings.task_workers, settings.task_queue)
                          if settings.task_workers else None)
        """The app's own pool for `start_task` (else the process-wide one)."""
        self.draining = False
        """Shutting down: new page loads are turned away so that they land elsewhere."""
        self.carried_values: dict[str, dict[str, dict[str, Any]]] = {}
        """Dev mode: widget values of a browser's previous session, by owner, to restore."""
        self._base_css: tuple[tuple[str, int, int], Asset] | None = None
        self._theme: Asset | None = None

    @property
    def dev(self) -> bool:
        return self.settings.dev

    @property
    def security(self) -> SecurityPolicy:
        return self.settings.security

    @property
    def base_dir(self) -> Path:
        return self.settings.base_dir

    @property
    def theme_css(self) -> str | None:
        return self.settings.theme_css

    def add(self, extension: Extension) -> None:
        """Take in an extension's contributions to sessions and pages (see NumerousApp.install
        for its routes and middleware)."""
        if any(known.name == extension.name for known in self.extensions):
            raise ValueError(f"the app already has the {extension.name} extension")
        self.extensions = (*self.extensions, extension)
        if extension.identify is not None:
            self.identify = extension.identify(self.identify)

    def extension(self, name: str) -> Any:
        """The `state` of the extension called `name`, or None without one."""
        for extension in self.extensions:
            if extension.name == name:
                return extension.state
        return None

    def watch(self, connection: Connection, websocket: HTTPConnection) -> Connection:
        """`connection` as the extensions that watch connections want it."""
        for extension in self.extensions:
            if extension.watch is not None:
                connection = extension.watch(connection, websocket)
        return connection

    @property
    def scripts(self) -> list[str]:
        return [path for extension in self.extensions for path in extension.scripts]

    @property
    def stylesheets(self) -> list[str]:
        return [path for extension in self.extensions for path in extension.stylesheets]

    async def open_session(self, identity: Identity, base: str, builder: Builder | None = None,
                           address: str | None = None, *, keep_carried: bool = False
                           ) -> tuple[Session, dict[str, Any]]:
        """Open a session for `identity` and wait until run_app() has built its widgets.

        The one way a session is opened (page loads, the agent API, and so the test driver):
        shared or private widgets and `restore_state` as the app says, values carried over a
        dev-mode reload put back. `builder` is the page's (default: the app's run_app());
        `address` (the client's) counts against its new sessions a minute. Raises
        `AtCapacity` when the app is full (`TooManyNew` past the address's limit) and
        `AppError` when run_app() fails; the session is closed again then. With
        `keep_carried` the values carried over a dev-mode reload are put back but kept for
        the owner's next session too (dev mode's swap may not take this one).
        """
        build = self._with_setup(builder or self.builder)
        session, built = self.sessions.create(build, owner=identity.owner, base=base,
                                              user=identity.user,
                                              shared=self.settings.share_widgets,
                                              address=address)
        session.restorable = self.settings.restore_state
        session.task_pool = self.task_pool
        if HOOKS.observer is not None:
            HOOKS.observer.session_opened(session)
        try:
            widgets = await built
            carried = (self.carried_values.get if keep_carried
                       else self.carried_values.pop)(identity.owner, None)
            if carried:
                await session.call(lambda: session.restore_values(carried))
            for extension in self.extensions:
                if extension.session_opened is not None:
                    extension.session_opened(session)
        except BaseException:
            self.sessions.close(session)
            raise
        return session, widgets

    def _with_setup(self, builder: Builder) -> Builder:
        setups = [e.session_setup for e in self.extensions if e.session_setup is not None]
        if not setups or self.settings.share_widgets:
            return builder

        def build() -> dict[str, Any]:
            for setup in setups:
                setup()
            return builder()

        return build

    async def session_joined(self, session: Session, hello: Hello) -> bool:
        """A session's first connection: True when an extension put values back."""
        for extension in self.extensions:
            if extension.session_joined is not None and await extension.session_joined(
                    session, hello):
                return True
        return False

    def base_css(self) -> Asset:
        """The base stylesheet: the app's `static/css/numerous-base.css` where it has one
        (read again when the file changes, for dev mode), else the built-in one."""
        override = self.base_dir / "static" / "css" / "numerous-base.css"
        path = override if override.is_file() else BUILTIN_STATIC_DIR / "numerous-base.css"
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if self._base_css is None or self._base_css[0] != key:
            self._base_css = (key, _css_asset(path.read_bytes()))
        return self._base_css[1]

    def theme(self) -> Asset:
        if self._theme is None:
            self._theme = _css_asset((self.theme_css or "").encode())
        return self._theme


def _css_asset(body: bytes) -> Asset:
    return Asset(body, "text/css; charset=utf-8", f'"{content_hash(body)}"')


__all__ = ["AppError", "AppRuntime", "AppSettings", "Extension", "Identify", "Identity",
           "anonymous", "decide_dev", "serving_mode"]
