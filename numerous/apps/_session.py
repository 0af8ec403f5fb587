"""A browser session: one page's id, owner, connection, outbox and acknowledgements.

The widgets and the thread that runs their code belong to the page's `Worker`: a private one
that ends with the page, or the app's shared one (`share_widgets=True`) that every page uses.
A page holds no thread of its own, so a page of shared widgets costs little more than its
outbox.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from functools import partial
from typing import Any, TypeVar

from ipywidgets import Widget

from . import _comm
from ._concurrency import notify
from ._observe import HOOKS, Observer
from ._outbox import Outbox
from ._protocol import (
    CloseCode,
    Error,
    ErrorCode,
    Open,
    OpenKept,
    Sync,
    Synced,
    WidgetMessage,
    state_digest,
)
from ._widgets import opened_state, widget_by_id
from ._worker import AppError, Builder, Worker

__all__ = ["AppError", "Builder", "Session", "current_session", "current_user"]

logger = logging.getLogger("numerous.apps")

T = TypeVar("T")

MAX_ERROR_TEXT = 300
"""An error's message is short and never carries what the browser sent (a refused value may
be megabytes, and a client that never reads would have the server hold every echo)."""


class Session:
    """One page of the app, and the worker whose widgets it shows."""

    page_tag: str | None = None
    """Dev mode: the validator of the page this session was built for (`_app._shell_tag`)."""

    def __init__(self, session_id: str, owner: str, worker: Worker | None = None, *,
                 base: str = "", dev: bool = False,
                 loop: asyncio.AbstractEventLoop | None = None, max_pending: int = 10_000,
                 user: Any = None, assets: set[str] | None = None) -> None:
        """A page of `worker`'s widgets; without one, a page with a private worker of its own
        (`base`, `dev`, `loop` and `assets` are the worker's)."""
        self.id = session_id
        self.owner = owner
        self.user = user
        self.worker = worker or Worker(f"numerous-session-{session_id[:6]}", base=base, dev=dev,
                                       loop=loop or asyncio.get_running_loop(), assets=assets)
        self.outbox = Outbox(max_pending)
        self.closed = False
        self.current_seq = 0
        """The highest `seq` handled from this page: the `ack` of what is sent to it."""
        self.connection: Any = None
        self.expiry: asyncio.TimerHandle | None = None
        self.restorable = False
        self.task_pool: Any = None
        """The app's pool for its background tasks (numerous.apps.start_task); None: the
        process-wide one."""
        """restore_state apps: the first connection may offer values back (see restore_values)."""
        self.joined = False
        self.page: str | None = None
        """The page (the `page` of its first hello) this session is bound to."""
        self.inbound = 0
        """Bytes of this page's frames posted to the worker and not yet handled."""
        self.on_end: Callable[[Session, str], None] | None = None
        """Set by the session manager: how `end()` removes the session from it."""
        self._on_close: list[Callable[[], object]] | None = None

    # --- what the page shows: its worker's ------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self.worker.loop

    @property
    def base(self) -> str:
        return self.worker.base

    @property
    def dev(self) -> bool:
        return self.worker.dev

    @property
    def widgets(self) -> dict[str, Widget]:
        """The widgets `run_app()` returned ({} until they are built)."""
        return self.worker.widgets

    @property
    def comms(self) -> dict[str, _comm.SessionComm]:
        return self.worker.comms

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, builder: Builder) -> asyncio.Future[dict[str, Widget]]:
        """Join the worker and have it build the widgets (once, for a shared worker); the
        future settles when they exist."""
        self.worker.attach(self)
        built = self.worker.build(builder)
        return _follow(built, self.loop) if self.worker.shared else built

    def close(self, reason: str = "This session has ended.",
              code: int = CloseCode.SESSION_UNKNOWN) -> None:
        """End the page (event loop thread): the browser is told and the close callbacks run;
        a private worker then closes the widgets on its thread and ends.

        A thread stuck in user code ends when that code returns; the session is gone for the
        browser at once either way.
        """
        if self.closed:
            return
        self.closed = True
        if HOOKS.observer is not None:
            HOOKS.observer.session_closed(self, reason, code)
        self.outbox.end(reason, code)
        self.worker.detach(self)  # shared widgets stay, for the other pages
        self._run_close_callbacks()

    def on_close(self, callback: Callable[[], object]) -> None:
        """Call `callback` once, on the event loop, when the session closes (to stop its
        timers, cancel its tasks). Its exceptions are logged; the others still run."""
        if self.closed:
            notify(self.loop, self._call_logged, callback)
            return
        if self._on_close is None:
            self._on_close = []  # most sessions never register one: no list for them
        self._on_close.append(callback)

    def _run_close_callbacks(self) -> None:
        callbacks, self._on_close = self._on_close or [], None
        for callback in callbacks:
            self._call_logged(callback)

    def _call_logged(self, callback: Callable[[], object]) -> None:
        try:
            callback()
        except Exception:
            logger.exception("error in an on_close callback of session %s", self.id[:6])

    def end(self, reason: str = "This session was ended by the app.") -> None:
        """End the session from any thread (a callback may end its own session).

        The browser shows the session-lost banner; the widgets are closed and the thread ends.
        """
        if self.on_end is not None:
            notify(self.loop, self.on_end, self, reason)
        else:
            notify(self.loop, self.close, reason)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the page's private worker to end; True at once with shared widgets
        (their worker outlives the page)."""
        return True if self.worker.shared else self.worker.join(timeout)

    @property
    def alive(self) -> bool:
        """A private worker's thread is still running."""
        return not self.worker.shared and self.worker.alive

    # --- jobs -------------------------------------------------------------------------------

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run `fn` on the worker thread as this page's work; await the future on the loop."""
        if self.closed:
            future: asyncio.Future[T] = self.loop.create_future()
            future.set_exception(RuntimeError("session is closed"))
            return future
        worker = self.worker
        if not worker.shared:
            return worker.submit_call(fn)  # a private worker always works for this page
        return worker.submit_call(lambda: worker.on_behalf_of(self, fn))

    def post(self, message: WidgetMessage | Sync, size: int = 0) -> None:
        """Hand a validated message from the browser to the worker thread, in order; `size`
        (its frame's bytes) counts in `inbound` until the worker has handled it.

        A `sync` is answered from there, so its `synced` follows whatever the frames before
        it caused."""
        if message["type"] == "sync":
            answer = Synced(type="synced", token=message["token"])
            self.worker.submit(lambda: self.outbox.put(answer))
            return
        self.inbound += size
        observer = HOOKS.observer
        if observer is None:
            self.worker.submit(partial(self._handle, message, size))
        else:
            self.worker.submit(partial(self._timed, observer, message, size))

    def _handle(self, message: WidgetMessage, size: int) -> None:
        try:
            self.worker.handle(self, message)
        finally:
            self.inbound -= size  # one int store under the GIL: the loop only reads it

    def _timed(self, observer: Observer, message: WidgetMessage, size: int) -> None:
        """Handle a browser message (worker thread) and report how long its callbacks took."""
        started = time.perf_counter()
        failed = False
        try:
            self._handle(message, size)
        except BaseException:
            failed = True
            raise
        finally:
            observer.callback(self, time.perf_counter() - started, failed)

    def send_error(self, code: ErrorCode, message: str, model_id: str | None = None,
                   detail: str | None = None) -> None:
        """Tell this page about a problem with what it sent (or a failed callback)."""
        error = Error(type="error", code=code, message=message[:MAX_ERROR_TEXT])
        if model_id is not None:
            error["id"] = model_id[:64]
        if detail:
            error["traceback"] = detail
        self.outbox.put(error)

    # --- snapshot and carried values (worker thread) ------------------------------------------

    def snapshot(self, kept: Collection[str] = ()) -> list[Open | OpenKept]:
        """The full state of every widget, in creation order, acknowledged for this page.

        A state whose digest is among `kept` (the page has it from its last load) is named,
        not sent; every other state goes with its digest, for the page to keep."""
        messages: list[Open | OpenKept] = []
        for comm_id in list(self.comms):
            widget = widget_by_id(comm_id)
            if widget is None:
                continue
            state = opened_state(self.worker.asset_urls(widget.get_state()))
            messages.append(_open(comm_id, state, self.current_seq, kept))
        self.outbox.reset(set(self.comms))
        return messages

    def changed_values(self) -> dict[str, dict[str, Any]]:
        """Public traits whose values differ from when run_app() returned (worker thread)."""
        return self.worker.changed_values()

    def restore_values(self, values: dict[str, dict[str, Any]]) -> None:
        """Put carried values back without firing callbacks (worker thread)."""
        self.worker.restore_values(values)

    def offered_values(self, values: dict[str, dict[str, Any]]) -> None:
        """Put back values this page's browser offers, each checked as its updates are
        (worker thread, on behalf of this page)."""
        self.worker.offered_values(values)


def _open(model_id: str, state: dict[str, Any], ack: int, kept: Collection[str]
          ) -> Open | OpenKept:
    digest = state_digest(state)
    if digest is None:
        return Open(type="open", id=model_id, state=state, buffer_paths=[], ack=ack)
    name, ids = digest
    message: Open | OpenKept
    if name in kept:
        message = OpenKept(type="open", id=model_id, ref=name, ack=ack)
    else:
        message = Open(type="open", id=model_id, state=state, buffer_paths=[], ack=ack, d=name)
    if ids:
        message["ids"] = ids
    return message


def _follow(built: asyncio.Future[T], loop: asyncio.AbstractEventLoop) -> asyncio.Future[T]:
    """A future of one page's own that settles as `built` does: a page that stops waiting
    (its request cancelled) must not cancel the build every page waits for."""
    mine: asyncio.Future[T] = loop.create_future()

    def done(future: asyncio.Future[T]) -> None:
        if mine.cancelled():
            return
        if future.cancelled():
            mine.cancel()
        elif future.exception() is not None:
            mine.set_exception(future.exception())  # type: ignore[arg-type]
        else:
            mine.set_result(future.result())
    built.add_done_callback(done)
    return mine


def current_session() -> Session | None:
    """The session whose thread is running, inside run_app() or a callback; else None.

    With shared widgets, the page whose message is being handled (None inside run_app())."""
    sink = _comm.current_sink()
    page = sink.page() if isinstance(sink, Worker) else None
    return page if isinstance(page, Session) else None


def current_user() -> Any:
    """The signed-in user of the current session (None without authentication).

    Call it inside run_app() to build widgets for that user, or in a callback.
    """
    session = current_session()
    return session.user if session is not None else None
