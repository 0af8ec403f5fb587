"""Timers of a session: `every(seconds, fn)` and `after(seconds, fn)`.

The waiting is a timer on the event loop (no thread per timer, nothing polls); the function
runs on the session thread like a callback, so it may change widgets. Timers stop when their
session ends. A timer whose function raises is reported to the page and stopped: an error
that repeats every second would otherwise fill the log and the page forever.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import _background as bg
from ._concurrency import notify

if TYPE_CHECKING:
    from ._session import Session

_ARMED: set[Timer] = set()
"""Timers waiting on the event loop in this process (for tests and diagnostics)."""


class Timer:
    """A function run on the session thread after a delay, once or repeatedly; `cancel()`."""

    def __init__(self, session: Session, seconds: float, fn: Callable[[], object],
                 repeat: bool) -> None:
        if seconds < 0 or (repeat and seconds <= 0):
            raise ValueError(f"a timer needs a positive interval, not {seconds}")
        self.seconds = seconds
        self.repeat = repeat
        self.fn = fn
        self.runs = 0
        self._session = session
        self._stopped = threading.Event()
        self._busy = False  # a run is queued or running on the session thread
        self._handle: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        kind = "every" if self.repeat else "after"
        return f"<Timer {kind} {self.seconds} s {'stopped' if self.stopped else 'active'}>"

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def cancel(self) -> None:
        """Stop the timer (any thread); a run already under way finishes."""
        if not self._stopped.is_set():
            self._stopped.set()
            notify(self._session.loop, self._disarm)

    # --- on the event loop ------------------------------------------------------------------

    def arm(self) -> None:
        if self._stopped.is_set() or self._session.closed:
            return
        self._handle = self._session.loop.call_later(self.seconds, self._fire)
        _ARMED.add(self)

    def _disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        _ARMED.discard(self)
        timers = _TIMERS.peek(self._session)
        if timers is not None:
            timers.discard(self)

    def _fire(self) -> None:
        self._handle = None
        _ARMED.discard(self)
        if self._stopped.is_set() or self._session.closed:
            return
        if self.repeat:
            self.arm()  # a fixed rate, not drifting by the time each run takes
        else:
            self._stopped.set()
            self._disarm()
        if not self._busy:  # a run still waiting or running: skip this tick, don't pile up
            self._busy = True
            bg.call_from_loop(self._session, self._run)

    # --- on the session thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.repeat and self._stopped.is_set():
                return
            self.runs += 1
            self.fn()
        except Exception as exc:  # noqa: BLE001 - the app's error, shown on its page
            self.cancel()
            bg.report(self._session, exc, f"timer {getattr(self.fn, '__qualname__', '')}")
        finally:
            self._busy = False


class _SessionTimers(set[Timer]):
    """The live timers of one session, all stopped when it closes."""

    def __init__(self, session: Session) -> None:
        super().__init__()

    def stop(self) -> None:
        for timer in list(self):
            timer._stopped.set()  # noqa: SLF001
            timer._disarm()  # noqa: SLF001 - on the loop already: at once
        self.clear()


_TIMERS = bg.PerSession(_SessionTimers)


def _start(seconds: float, fn: Callable[[], object], repeat: bool,
           session: Session | None) -> Timer:
    what = "every()" if repeat else "after()"
    session = bg.session_or_current(session, what)
    timer = Timer(session, seconds, fn, repeat)
    timers: _SessionTimers = _TIMERS.get(session)
    timers.add(timer)
    notify(session.loop, timer.arm)
    return timer


def every(seconds: float, fn: Callable[[], object], *, session: Session | None = None) -> Timer:
    """Run `fn()` on the session thread every `seconds` until the session ends or the timer
    is cancelled. Call it in run_app() or a callback.

    ```python
    clock = wi.Text(value="")
    every(1.0, lambda: setattr(clock, "value", time.strftime("%X")))
    ```

    A tick that comes while the previous run is still busy is skipped. If `fn` raises, the
    error goes to the page (as a callback's does) and the timer stops.
    """
    return _start(seconds, fn, True, session)


def after(seconds: float, fn: Callable[[], object], *, session: Session | None = None) -> Timer:
    """Run `fn()` once on the session thread in `seconds`, unless the session ends or the
    timer is cancelled first. Errors are reported as for `every`."""
    return _start(seconds, fn, False, session)
