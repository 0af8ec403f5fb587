"""The threads that run sessions' code: one pool for every session, each session in order.

A session's jobs (`run_app()`, callbacks, snapshots) run one at a time and in the order they
were queued, so user code never races with itself, as it would on a thread of its own. But an
idle session holds no thread: its jobs wait in a `Serial` (a few slots on its worker), and
only a session with work takes one of the pool's threads, for as long as that work lasts.

The rule that keeps a slow callback to its own session: a session with work waits for a pool
thread to come free for at most `grow_after` (20 ms); then another thread starts. So ten
callbacks that each sleep for a minute hold ten threads, and the eleventh session is served
20 ms later by another; a burst of quick jobs (a thousand sessions closing at once) is served
by the threads there are instead of a thread each. Threads beyond `keep` that stay idle for
`idle_timeout` seconds end, so the pool shrinks back after a burst.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable

logger = logging.getLogger("numerous.apps")

Job = Callable[[], object]

_LOCK = threading.Lock()
"""Guards every `Serial`'s jobs and busy flag, and the pool's counts: each hold is a few
list operations, and one lock costs nothing per idle session."""


class Serial:
    """Jobs of one session, run one at a time, in order, on the pool's threads.

    Subclasses override `run_job` (to set what a job runs inside) and `finished`."""

    __slots__ = ("_busy", "_ended", "_jobs", "_pool")

    def __init__(self, pool: SessionPool | None = None) -> None:
        self._pool = pool or default_pool()
        self._jobs: deque[Job] | None = None  # made on the first job, dropped when drained
        self._busy = False
        self._ended: bool | threading.Event = False
        """True once it has ended; an Event while someone waits for that (made on demand:
        an Event is a lock and a condition, too much to keep for every session)."""

    def submit(self, job: Job) -> None:
        """Queue `job` (from any thread); it runs after the jobs queued before it."""
        with _LOCK:
            if self._ended is True:
                return  # an ended session runs nothing more
            if self._jobs is None:
                self._jobs = deque()
            self._jobs.append(job)
            if self._busy:
                return  # the drain under way takes it
            self._busy = True
        self._pool.dispatch(self)

    def drain(self) -> None:
        """Run the queued jobs until none is left (a pool thread)."""
        while True:
            with _LOCK:
                jobs = self._jobs
                if not jobs:
                    self._jobs = None
                    self._busy = False
                    return
                job = jobs.popleft()
            try:
                self.run_job(job)
            except BaseException:  # noqa: BLE001 - the session's next jobs must still run
                logger.exception("unexpected error in a session's job")
            job = None  # an idle session must not hold its last job (a future, closures)

    def run_job(self, job: Job) -> None:
        job()

    def mark_ended(self) -> None:
        """No job runs any more: forget those still queued and wake whoever waits in
        `wait_ended` (called by the last job)."""
        with _LOCK:
            if self._jobs:
                self._jobs.clear()
            waiting, self._ended = self._ended, True
        if isinstance(waiting, threading.Event):
            waiting.set()

    @property
    def ended(self) -> bool:
        return self._ended is True

    def wait_ended(self, timeout: float | None = None) -> bool:
        """Block until `mark_ended` (any thread but the pool's); False on timeout."""
        with _LOCK:
            if self._ended is True:
                return True
            if self._ended is False:
                self._ended = threading.Event()
            event = self._ended
        return event.wait(timeout)


class SessionPool:
    """Threads shared by sessions; `dispatch` hands one a session that has work.

    The rule: up to `keep` threads start as soon as work finds no idle one. Past that, a
    session with work waits for a thread to come free, but never longer than `grow_after`
    seconds: then another thread starts (up to `max_threads`), so sessions whose callbacks
    block hold threads of their own and the others go on. Threads beyond `keep` that stay
    idle for `idle_timeout` seconds end.
    """

    def __init__(self, keep: int = 4, grow_after: float = 0.02, idle_timeout: float = 10.0,
                 max_threads: int = 1024, name: str = "numerous-session") -> None:
        self.keep = keep
        self.grow_after = grow_after
        self.idle_timeout = idle_timeout
        self.max_threads = max_threads
        self.name = name
        self._ready: queue.SimpleQueue[Serial] = queue.SimpleQueue()
        self._queued: deque[float] = deque()
        """When each session still in `_ready` was queued, oldest first."""
        self._threads = 0
        self._idle = 0
        self._started = 0
        self._backlog = threading.Event()
        """Set while sessions wait with no idle thread: the watcher checks how long."""
        self._watcher: threading.Thread | None = None

    @property
    def threads(self) -> int:
        """Threads of the pool now (busy or idle)."""
        return self._threads

    def dispatch(self, serial: Serial) -> None:
        """Give `serial` a thread: an idle one, a new one while there are fewer than `keep`,
        else the first to come free (or a new one after `grow_after`)."""
        number = 0
        with _LOCK:
            self._queued.append(time.monotonic())
            if self._idle > 0:
                self._idle -= 1  # reserved: the next idle thread to look takes it
            elif self._threads < self.keep:
                number = self._add_thread()
            else:
                self._backlog.set()
                if self._watcher is None:
                    self._watcher = threading.Thread(target=self._watch, daemon=True,
                                                     name="numerous-pool-watcher")
                    self._watcher.start()
        self._ready.put(serial)
        if number:
            self._start(number)

    def _add_thread(self) -> int:
        self._threads += 1
        self._started += 1
        return self._started

    def _start(self, number: int) -> None:
        thread = threading.Thread(target=self._work, name=f"{self.name}-{number}", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            with _LOCK:
                self._threads -= 1
                alone = self._threads == 0
                self._backlog.set()  # the watcher tries again
            if alone:
                raise  # no thread at all could run it: the caller turns the visitor away
            logger.warning("could not start another session thread; the session waits for "
                           "a busy one")

    def _watch(self) -> None:
        """While sessions wait and no thread comes free, start threads, one per
        `grow_after` (a thread of its own: it never runs a job)."""
        while True:
            self._backlog.wait()
            number = 0
            with _LOCK:
                if not self._queued or self._idle > 0:
                    self._backlog.clear()
                    continue
                waited = time.monotonic() - self._queued[0]
                if waited >= self.grow_after and self._threads < self.max_threads:
                    number = self._add_thread()
            if number:
                try:
                    self._start(number)
                except RuntimeError:
                    logger.warning("could not start a session thread; sessions wait")
            time.sleep(self.grow_after if number or waited >= self.grow_after
                       else self.grow_after - waited)

    def _work(self) -> None:
        ready = self._ready
        while True:
            try:
                serial = ready.get(timeout=self.idle_timeout)
            except queue.Empty:
                if self._retire():
                    return
                continue
            with _LOCK:
                if self._queued:
                    self._queued.popleft()
            try:
                serial.drain()
            except BaseException:  # noqa: BLE001 - a pool thread must outlive any job
                logger.exception("unexpected error in a session's jobs")
            serial = None  # type: ignore[assignment]
            with _LOCK:
                self._idle += 1

    def _retire(self) -> bool:
        """After an idle wait: end this thread if the pool has more than `keep` (and no
        session was handed to an idle thread meanwhile)."""
        with _LOCK:
            if self._idle > 0 and self._threads > self.keep:
                self._idle -= 1
                self._threads -= 1
                return True
        return False


_default: SessionPool | None = None


def default_pool() -> SessionPool:
    """The process-wide pool every session uses."""
    global _default
    if _default is None:
        with _LOCK:
            if _default is None:
                _default = SessionPool()
    return _default


def pool_threads() -> int:
    """Threads of the process-wide pool (0 before the first session)."""
    return _default.threads if _default is not None else 0


__all__ = ["Job", "Serial", "SessionPool", "default_pool", "pool_threads"]

