"""The framework's Prometheus metrics, kept with the official `prometheus-client` library.

One `Metrics` object per process (`metrics()`) observes every app in it (`combine_apps` apps
are told apart by the `app` label, the path they are served at). Counters and histograms move
where things happen (see `numerous.apps._observe`); gauges that describe a state (threads,
pending messages, tasks) are set when scraped and every few seconds, so that with several
worker processes (`PROMETHEUS_MULTIPROC_DIR`) every process's share stays current.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Any

try:
    import prometheus_client as prom
    from prometheus_client import multiprocess
except ImportError:  # pragma: no cover - the extra is not installed
    prom = None  # type: ignore[assignment]

from .._connection import Connection, Disconnected, Frame
from .._protocol import CloseCode
from .._tasks import default_pool

CALLBACK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ADMIN_REASON = "This session was ended by an administrator."

_CONNECTION_CLOSES = {
    CloseCode.BAD_HELLO: "protocol", CloseCode.UNAUTHORIZED: "unauthorized",
    CloseCode.SESSION_UNKNOWN: "session_unknown", CloseCode.TOO_SLOW: "too_slow",
    CloseCode.REPLACED: "replaced", CloseCode.GOING_AWAY: "going_away",
}


def prometheus_available() -> bool:
    return prom is not None


def require_prometheus() -> Any:
    if prom is None:
        raise RuntimeError("metrics need the prometheus-client package: "
                           "pip install 'numerous-apps[metrics]'")
    return prom


def app_label(base: str) -> str:
    """The `app` label of everything served below `base` (a combine_apps prefix, or /)."""
    return base or "/"


def close_reason(reason: str, code: int) -> str:
    """Why a session ended, as a label: a few fixed values, never the free text."""
    if code == CloseCode.GOING_AWAY:
        return "shutdown"
    if reason == ADMIN_REASON:
        return "admin"
    if reason.startswith("This session was ended by the app"):
        return "app"
    if code == CloseCode.UNAUTHORIZED:
        return "signed_out"
    if reason == "This session has ended.":
        return "expired"
    return "other"


class Metrics:
    """Every metric of the framework, and the observer the runtime reports to."""

    def __init__(self) -> None:
        p = require_prometheus()
        live = {"multiprocess_mode": "livesum"}
        self.sessions_live = p.Gauge("numerous_sessions_live", "Sessions open now.", ["app"],
                                     **live)
        self.sessions_opened = p.Counter("numerous_sessions_opened", "Sessions opened.", ["app"])
        self.sessions_closed = p.Counter("numerous_sessions_closed",
                                         "Sessions closed, by reason.", ["app", "reason"])
        self.threads = p.Gauge("numerous_session_threads", "Session threads running.", **live)
        self.callback_seconds = p.Histogram(
            "numerous_callback_seconds", "Time to handle one browser message (its callbacks).",
            ["app"], buckets=CALLBACK_BUCKETS)
        self.callback_errors = p.Counter("numerous_callback_errors",
                                         "Browser messages whose handling raised.", ["app"])
        self.frames = p.Counter("numerous_ws_frames", "WebSocket frames.", ["app", "direction"])
        self.bytes = p.Counter("numerous_ws_bytes", "WebSocket payload bytes.",
                               ["app", "direction"])
        self.connections_closed = p.Counter(
            "numerous_ws_closed", "WebSocket connections ended, by reason.", ["app", "reason"])
        self.clients_dropped = p.Counter(
            "numerous_clients_dropped", "Clients disconnected for falling behind.", ["app"])
        self.coalesced = p.Counter("numerous_outbox_coalesced",
                                   "Widget updates merged into one still waiting.", ["app"])
        self.dropped = p.Counter("numerous_outbox_dropped",
                                 "Messages dropped for a client that fell behind.", ["app"])
        self.pending = p.Gauge("numerous_outbox_pending", "Messages waiting to be sent.",
                               ["app"], **live)
        self.page_loads = p.Counter("numerous_page_loads", "Page loads, by status.",
                                    ["app", "status"])
        self.page_seconds = p.Histogram("numerous_page_ttfb_seconds",
                                        "Time to the first byte of a page.", ["app"],
                                        buckets=PAGE_BUCKETS)
        self.logins = p.Counter("numerous_login_attempts", "Sign-in attempts.")
        self.login_failures = p.Counter("numerous_login_failures", "Refused sign-ins.")
        self.lockouts = p.Counter("numerous_login_lockouts",
                                  "Sign-ins turned away by the rate limit.")
        self.tasks = p.Gauge("numerous_tasks", "Background tasks, by state.", ["state"], **live)
        self.tasks_cancelled = p.Counter("numerous_tasks_cancelled", "Tasks cancelled.")
        self.store_failures = p.Counter(
            "numerous_store_failures",
            "Session store operations that failed or timed out (the app carried on in memory).",
            ["operation"])
        self.runtimes: weakref.WeakSet[Any] = weakref.WeakSet()
        self._open: set[str] = set()
        self.opened_at: dict[str, float] = {}
        """When each live session opened, and when it last handled a browser message (Unix
        time; for the admin page)."""
        self.active_at: dict[str, float] = {}
        self._callback_histograms: dict[str, Any] = {}
        self._lock = threading.Lock()

    # --- the observer (see numerous.apps._observe) ------------------------------------------

    def session_opened(self, session: Any) -> None:
        app = app_label(session.base)
        with self._lock:
            self._open.add(session.id)
            self.opened_at[session.id] = time.time()
        self.sessions_opened.labels(app).inc()
        self.sessions_live.labels(app).inc()

    def session_closed(self, session: Any, reason: str, code: int) -> None:
        app = app_label(session.base)
        with self._lock:
            if session.id not in self._open:
                return  # opened before metrics were on, or not through open_session
            self._open.discard(session.id)
            self.opened_at.pop(session.id, None)
            self.active_at.pop(session.id, None)
        self.sessions_live.labels(app).dec()
        self.sessions_closed.labels(app, close_reason(reason, code)).inc()
        if session.outbox.coalesced:
            self.coalesced.labels(app).inc(session.outbox.coalesced)
        if session.outbox.dropped:
            self.dropped.labels(app).inc(session.outbox.dropped)

    def callback(self, session: Any, seconds: float, failed: bool) -> None:
        app = app_label(session.base)
        histogram = self._callback_histograms.get(app)
        if histogram is None:  # labels() takes a lock and builds a key: once per app
            histogram = self._callback_histograms[app] = self.callback_seconds.labels(app)
        histogram.observe(seconds)
        if session.id in self.opened_at:
            self.active_at[session.id] = time.time()
        if failed:
            self.callback_errors.labels(app).inc()

    def login(self, event: str) -> None:
        {"attempt": self.logins, "failure": self.login_failures,
         "lockout": self.lockouts}[event].inc()

    def task_cancelled(self) -> None:
        self.tasks_cancelled.inc()

    def store_failure(self, operation: str) -> None:
        self.store_failures.labels(operation).inc()

    # --- connections and state --------------------------------------------------------------

    def watch(self, connection: Connection, base: str) -> Connection:
        return CountedConnection(connection, self, app_label(base))

    def refresh(self) -> None:
        """Set the gauges that describe this process's state now."""
        self.threads.set(sum(1 for t in threading.enumerate()
                             if t.name.startswith(("numerous-session-", "numerous-shared"))))
        pending: dict[str, int] = {}
        for runtime in self.runtimes:
            for session in runtime.sessions:
                app = app_label(session.base)
                pending[app] = pending.get(app, 0) + len(session.outbox)
        for app, count in pending.items():
            self.pending.labels(app).set(count)
        pool = default_pool()
        running = min(pool.load, pool.workers)
        self.tasks.labels("running").set(running)
        self.tasks.labels("queued").set(pool.load - running)

    def exposition(self) -> tuple[bytes, str]:
        """The text a scrape gets: this process's metrics, or every process's."""
        p = require_prometheus()
        self.refresh()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = p.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return p.generate_latest(registry), p.CONTENT_TYPE_LATEST
        return p.generate_latest(), p.CONTENT_TYPE_LATEST


class CountedConnection:
    """A connection whose frames, bytes and end are counted."""

    __slots__ = ("_inner", "_ended", "_metrics", "_app", "_frames_in", "_frames_out",
                 "_bytes_in", "_bytes_out")

    def __init__(self, inner: Connection, metrics: Metrics, app: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._app = app
        self._ended = False
        self._frames_in = metrics.frames.labels(app, "in")
        self._frames_out = metrics.frames.labels(app, "out")
        self._bytes_in = metrics.bytes.labels(app, "in")
        self._bytes_out = metrics.bytes.labels(app, "out")

    async def send(self, frame: Frame) -> None:
        await self._inner.send(frame)
        self._frames_out.inc()
        self._bytes_out.inc(_size(frame))

    async def receive(self) -> Frame:
        try:
            frame = await self._inner.receive()
        except Disconnected:
            self._end("client")
            raise
        self._frames_in.inc()
        self._bytes_in.inc(_size(frame))
        return frame

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._end(_CONNECTION_CLOSES.get(code, "server"))
        if code == CloseCode.TOO_SLOW:
            self._metrics.clients_dropped.labels(self._app).inc()
        await self._inner.close(code, reason)

    def _end(self, reason: str) -> None:
        if not self._ended:
            self._ended = True
            self._metrics.connections_closed.labels(self._app, reason).inc()


def _size(frame: Frame) -> int:
    if isinstance(frame, str) and not frame.isascii():
        return len(frame.encode())
    return len(frame)


_metrics: Metrics | None = None
_metrics_lock = threading.Lock()


def metrics() -> Metrics:
    """This process's metrics, created (and registered) on first use."""
    global _metrics
    with _metrics_lock:
        if _metrics is None:
            _metrics = Metrics()
        return _metrics
