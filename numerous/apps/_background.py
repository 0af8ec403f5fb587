"""Work a session started that runs outside its callbacks (tasks, timers): how it gets back
onto the session thread, how its errors reach the page, and how it stops with the session.
"""

from __future__ import annotations

import logging
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._concurrency import notify
from ._session import current_session

if TYPE_CHECKING:
    import asyncio

    from ._session import Session

logger = logging.getLogger("numerous.apps")
S = TypeVar("S")


def session_or_current(session: Session | None, what: str) -> Session:
    """The session given, or the one whose thread is running; a clear error outside one."""
    session = session or current_session()
    if session is None:
        raise RuntimeError(f"{what} needs a session: call it inside run_app() or a callback, "
                           "or pass session=")
    if session.closed:
        raise RuntimeError(f"{what}: the session has ended")
    return session


def report(session: Session, exc: BaseException, what: str) -> None:
    """Log an error of the app's code and show it on the page, as a callback's error is."""
    logger.error("error in %s of session %s", what, session.id[:6],
                 exc_info=(type(exc), exc, exc.__traceback__))
    detail = "".join(traceback.format_exception(exc)) if session.dev else None
    message = f"{type(exc).__name__}: {exc}" if session.dev else "An error occurred in the app."
    session.send_error("callback_error", message, None, detail)


def guarded(session: Session, fn: Callable[[], object], what: str) -> Callable[[], None]:
    """`fn` for the session thread, with its errors reported to the page."""
    def run() -> None:
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - the app's error, shown on its page
            report(session, exc, what)
    return run


def on_session_thread(session: Session, fn: Callable[[], object], what: str) -> None:
    """Run `fn` on the session thread, from any thread; nothing happens once it has ended."""
    notify(session.loop, _call, session, guarded(session, fn, what))


def call_from_loop(session: Session, fn: Callable[[], object]) -> None:
    """`session.call(fn)` for code already on the event loop, nobody awaiting the result."""
    if not session.closed:
        session.call(fn).add_done_callback(_consume)


def _call(session: Session, fn: Callable[[], object]) -> None:
    call_from_loop(session, fn)


def _consume(future: asyncio.Future[Any]) -> None:
    # The job's own errors are reported by `guarded`; a session that closed first leaves
    # an exception nobody is waiting for.
    if not future.cancelled():
        future.exception()


class PerSession:
    """One object per live session (a session's tasks, its timers), stopped with it.

    `factory(session)` makes it on first use; its `stop()` runs on the event loop when the
    session closes. Sessions are held weakly: the registry never keeps one alive.
    """

    def __init__(self, factory: Callable[[Session], Any]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._items: weakref.WeakKeyDictionary[Session, Any] = weakref.WeakKeyDictionary()

    def get(self, session: Session) -> Any:
        with self._lock:
            item = self._items.get(session)
            if item is not None:
                return item
            item = self._items[session] = self._factory(session)
        session.on_close(lambda: self._stop(session))
        if session.closed:  # closed while we registered: on_close may have run already
            notify(session.loop, self._stop, session)
        return item

    def _stop(self, session: Session) -> None:
        with self._lock:
            item = self._items.pop(session, None)
        if item is not None:
            item.stop()

    def peek(self, session: Session) -> Any:
        """The session's object if it has one; None otherwise (nothing is made)."""
        with self._lock:
            return self._items.get(session)
