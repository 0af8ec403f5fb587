"""Background tasks: slow work off the session thread, with progress, cancel and a result.

A callback that runs for ten seconds would block its session's thread, and with it every
other widget of the page. `start_task()` (or a `@task` function) runs the work on a bounded
pool of worker threads instead and hands what it reports back to the session thread:
progress (coalesced, at most one delivery per frame), then its result, its error or its
cancellation. Cancelling is cooperative: the function sees `task.cancelled`, or its next
`task.progress()` raises `TaskCancelled`.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Literal, ParamSpec, TypeVar

from . import _background as bg
from ._concurrency import notify
from ._observe import observe_task_cancelled

if TYPE_CHECKING:
    from ._session import Session

P = ParamSpec("P")
R = TypeVar("R")

IfRunning = Literal["cancel", "refuse"]
State = Literal["queued", "running", "done", "failed", "cancelled"]

PROGRESS_INTERVAL = 1 / 60
"""Seconds between two progress deliveries of a task at least: one per frame of the page."""


class TaskRefused(RuntimeError):
    """A task was not started: the pool and its queue are full, or (with
    `if_running="refuse"`) the same task is already running in this session."""


class TaskCancelled(Exception):
    """Raised by `task.progress()` in a task that was cancelled, to end the function."""


class TaskPool:
    """Worker threads shared by the sessions of an app, with a bounded queue.

    `workers` tasks run at once; `queue` more wait their turn; past that, starting one raises
    `TaskRefused` at once instead of letting work pile up. Threads start on first use and
    stay for the life of the process.
    """

    def __init__(self, workers: int = 4, queue: int = 32) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("a task pool needs workers >= 1 and queue >= 0")
        self.workers = workers
        self.queue_size = queue
        self._jobs: SimpleQueue[Callable[[], None]] = SimpleQueue()
        self._lock = threading.Lock()
        self._load = 0
        self._threads: list[threading.Thread] = []
        self._names = itertools.count(1)

    @property
    def load(self) -> int:
        """Tasks running or waiting in this pool."""
        return self._load

    def submit(self, job: Callable[[], None]) -> None:
        """Queue `job` for a worker thread, or raise `TaskRefused` when the pool is full."""
        with self._lock:
            if self._load >= self.workers + self.queue_size:
                raise TaskRefused(f"too many tasks: {self.workers} running and "
                                  f"{self.queue_size} waiting; try again later")
            self._load += 1
            if len(self._threads) < min(self.workers, self._load):
                self._start_worker()
        self._jobs.put(job)

    def _start_worker(self) -> None:
        thread = threading.Thread(target=self._work, daemon=True,
                                  name=f"numerous-task-{next(self._names)}")
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            finally:
                with self._lock:
                    self._load -= 1


_default = TaskPool()


def configure_tasks(workers: int = 4, queue: int = 32) -> TaskPool:
    """Set the size of the pool that tasks run on unless given `pool=` (4 workers and 32
    waiting by default). Tasks already started finish on the old pool."""
    global _default
    _default = TaskPool(workers, queue)
    return _default


def default_pool() -> TaskPool:
    return _default


class Task(Generic[R]):
    """One run of a task: its state and progress, and `cancel()`.

    The function gets it as its first argument: it reports with `task.progress(0.4, "...")`
    and may look at `task.cancelled`. The app keeps it to cancel it or read its state.
    """

    def __init__(self, session: Session, key: str, run: Callable[[Task[R]], R],
                 callbacks: _Callbacks) -> None:
        self.key = key
        self.state: State = "queued"
        self.fraction: float | None = None
        self.message = ""
        self.result: R | None = None
        self.error: BaseException | None = None
        self._session = session
        self._run = run
        self._callbacks = callbacks
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._version = 0  # progress reports so far
        self._delivered = 0  # ... and the last one handed to on_progress
        self._pending = False
        self._last_delivery = -1.0

    def __repr__(self) -> str:
        return f"<Task {self.key} {self.state}>"

    @property
    def cancelled(self) -> bool:
        """True once `cancel()` was called: a long function should return soon."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the task to stop (any thread): its next `progress()` raises `TaskCancelled`,
        a task still waiting for a worker never starts; `on_cancel` follows, not `on_done`."""
        if not self._cancel.is_set():
            observe_task_cancelled()
        self._cancel.set()

    def progress(self, fraction: float | None = None, message: str = "") -> None:
        """Report progress (`fraction` from 0 to 1, or None when unknown) from the task's
        function. Cheap enough to call thousands of times a second: the page gets the latest
        report at most once a frame. Raises `TaskCancelled` once the task was cancelled."""
        if self._cancel.is_set():
            raise TaskCancelled(self.key)
        with self._lock:
            self.fraction, self.message = fraction, message
            self._version += 1
            schedule, self._pending = not self._pending, True
        if schedule:
            notify(self._session.loop, self._schedule_progress)

    # --- on the worker thread ---------------------------------------------------------------

    def execute(self) -> None:
        if not self._cancel.is_set():
            self.state = "running"
            try:
                self.result = self._run(self)
            except TaskCancelled:
                pass
            except Exception as exc:  # noqa: BLE001 - handed to the page or to on_error
                self.error = exc
        self.state = ("cancelled" if self._cancel.is_set() else
                      "failed" if self.error is not None else "done")
        bg.on_session_thread(self._session, self._finish, f"task {self.key}")

    # --- on the event loop ------------------------------------------------------------------

    def _schedule_progress(self) -> None:
        loop = self._session.loop
        delay = self._last_delivery + PROGRESS_INTERVAL - loop.time()
        if delay > 0:
            loop.call_later(delay, bg.call_from_loop, self._session, self._deliver_progress)
        else:
            bg.call_from_loop(self._session, self._deliver_progress)

    # --- on the session thread --------------------------------------------------------------

    def _deliver_progress(self) -> None:
        with self._lock:
            self._pending = False
            if self._version == self._delivered or self._cancel.is_set():
                return
            self._delivered = self._version
            self._last_delivery = self._session.loop.time()
            fraction, message = self.fraction, self.message
        if self._callbacks.on_progress is not None:
            bg.guarded(self._session, lambda: self._callbacks.on_progress(  # type: ignore[misc]
                fraction, message), f"on_progress of task {self.key}")()

    def _finish(self) -> None:
        tasks = _TASKS.peek(self._session)
        if tasks is not None:
            tasks.forget(self)
        if self.state == "done":
            self._deliver_progress()  # the last report before the result, never after it
        self._callbacks.finish(self)


class _Callbacks:
    """What the app is told, on the session thread."""

    def __init__(self, on_progress: Callable[[float | None, str], object] | None,
                 on_done: Callable[[Any], object] | None,
                 on_error: Callable[[BaseException], object] | None,
                 on_cancel: Callable[[], object] | None) -> None:
        self.on_progress = on_progress
        self.on_done = on_done
        self.on_error = on_error
        self.on_cancel = on_cancel

    def finish(self, task: Task[Any]) -> None:
        if task.state == "done" and self.on_done is not None:
            self.on_done(task.result)
        elif task.state == "cancelled" and self.on_cancel is not None:
            self.on_cancel()
        elif task.state == "failed" and task.error is not None:
            if self.on_error is not None:
                self.on_error(task.error)
            else:
                bg.report(task._session, task.error, f"task {task.key}")  # noqa: SLF001


class _SessionTasks:
    """The tasks of one session still running, by key; all cancelled when it closes."""

    def __init__(self, session: Session) -> None:
        self._lock = threading.Lock()
        self.running: dict[str, Task[Any]] = {}

    def add(self, task: Task[Any], if_running: IfRunning) -> None:
        with self._lock:
            old = self.running.get(task.key)
            if old is not None and if_running == "refuse":
                raise TaskRefused(f"task {task.key} is already running in this session")
            self.running[task.key] = task
        if old is not None:
            old.cancel()

    def forget(self, task: Task[Any]) -> None:
        with self._lock:
            if self.running.get(task.key) is task:
                del self.running[task.key]

    def stop(self) -> None:
        with self._lock:
            tasks, self.running = list(self.running.values()), {}
        for task in tasks:
            task.cancel()


_TASKS = bg.PerSession(_SessionTasks)


def start_task(fn: Callable[Concatenate[Task[R], P], R], *args: Any,
               on_progress: Callable[[float | None, str], object] | None = None,
               on_done: Callable[[R], object] | None = None,
               on_error: Callable[[BaseException], object] | None = None,
               on_cancel: Callable[[], object] | None = None,
               key: str | None = None, if_running: IfRunning = "cancel",
               pool: TaskPool | None = None, session: Session | None = None,
               **kwargs: Any) -> Task[R]:
    """Run `fn(task, *args, **kwargs)` on a worker thread for the current session.

    Call it in a callback (or in run_app()). The `on_*` callbacks run on the session thread,
    where they may change widgets: `on_progress(fraction, message)` for the latest report,
    then one of `on_done(result)`, `on_error(exception)` (without it, the error goes to the
    page as a callback's error does) or `on_cancel()`.

    `key` names the task in its session (the function's name by default); starting a key
    that is still running cancels the old run (`if_running="cancel"`) or raises
    `TaskRefused` (`"refuse"`). A full pool raises `TaskRefused` too. The session's tasks are
    cancelled when it ends.
    """
    session = bg.session_or_current(session, "start_task()")
    key = key or str(getattr(fn, "__qualname__", repr(fn)))
    callbacks = _Callbacks(on_progress, on_done, on_error, on_cancel)
    task: Task[R] = Task(session, key, lambda t: fn(t, *args, **kwargs), callbacks)
    tasks: _SessionTasks = _TASKS.get(session)
    tasks.add(task, if_running)
    try:
        (pool or session.task_pool or _default).submit(task.execute)
    except TaskRefused:
        tasks.forget(task)
        raise
    return task


class TaskFunction(Generic[P, R]):
    """A function made into a task by `@task`: calling it starts a run and returns its Task."""

    def __init__(self, fn: Callable[Concatenate[Task[R], P], R], options: dict[str, Any]
                 ) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.options = options

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Task[R]:
        options: dict[str, Any] = {**self.options, **kwargs}
        return start_task(self.fn, *args, **options)

    def running(self, session: Session | None = None) -> Task[R] | None:
        """The run of this task going on in the session (the current one by default)."""
        session = session or bg.session_or_current(None, "running()")
        tasks = _TASKS.peek(session)
        key = self.options.get("key") or self.fn.__qualname__
        return tasks.running.get(key) if tasks is not None else None


def task(*, on_progress: Callable[[float | None, str], object] | None = None,
         on_done: Callable[[Any], object] | None = None,
         on_error: Callable[[BaseException], object] | None = None,
         on_cancel: Callable[[], object] | None = None, key: str | None = None,
         if_running: IfRunning = "cancel", pool: TaskPool | None = None
         ) -> Callable[[Callable[Concatenate[Task[R], P], R]], TaskFunction[P, R]]:
    """Make a function a task: calling it (in a callback) starts it off the session thread.

    ```python
    def run_app():
        bar, result, go = ...

        @task(on_progress=lambda f, msg: setattr(bar, "value", f),
              on_done=lambda model: setattr(result, "value", str(model)))
        def train(task, epochs):
            for epoch in range(epochs):
                task.progress(epoch / epochs, f"epoch {epoch}")
                ...
            return model

        go.observe(lambda _: train(10), names="clicked")
    ```

    The options are those of `start_task()`.
    """
    options = {"on_progress": on_progress, "on_done": on_done, "on_error": on_error,
               "on_cancel": on_cancel, "key": key, "if_running": if_running, "pool": pool}

    def decorate(fn: Callable[Concatenate[Task[R], P], R]) -> TaskFunction[P, R]:
        return TaskFunction(fn, options)
    return decorate
