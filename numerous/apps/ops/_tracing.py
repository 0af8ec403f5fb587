"""OpenTelemetry spans of page loads, WebSocket sessions and callbacks (the `tracing` extra).

Tracing is on when the ops extension is installed and OpenTelemetry is configured: a tracer
provider the application set up itself, or an OTLP endpoint in the environment
(`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), for which a provider
with the standard OTLP/HTTP exporter is made. Spans carry the app and a session id prefix,
never a user's name or a value.
"""

from __future__ import annotations

import os
import time
from typing import Any

try:
    from opentelemetry import trace
except ImportError:  # pragma: no cover - the extra is not installed
    trace = None  # type: ignore[assignment]

from .._connection import Connection, Disconnected, Frame
from ._metrics import app_label

TRACER_NAME = "numerous.apps"
_ENDPOINT_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracer() -> Any:
    """The framework's tracer when tracing is configured, else None."""
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    if not _is_real(provider):
        if not any(os.environ.get(name) for name in _ENDPOINT_ENV):
            return None
        provider = _otlp_provider()
        trace.set_tracer_provider(provider)
    return trace.get_tracer(TRACER_NAME)


def _is_real(provider: Any) -> bool:
    return type(provider).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider")


def _otlp_provider() -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise RuntimeError("an OTLP endpoint is configured but the exporter is missing: "
                           "pip install 'numerous-apps[tracing]'") from exc
    name = os.environ.get("OTEL_SERVICE_NAME", "numerous-app")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


class Tracing:
    """An observer (see numerous.apps._observe) that turns callbacks into spans."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    def session_opened(self, session: Any) -> None:
        pass

    def session_closed(self, session: Any, reason: str, code: int) -> None:
        pass

    def callback(self, session: Any, seconds: float, failed: bool) -> None:
        end = time.time_ns()
        span = self.tracer.start_span("numerous callback", start_time=end - int(seconds * 1e9),
                                      attributes=_attributes(session))
        if failed:
            span.set_status(trace.Status(trace.StatusCode.ERROR))
        span.end(end_time=end)

    def login(self, event: str) -> None:
        pass

    def task_cancelled(self) -> None:
        pass

    def page_span(self, app: str) -> Any:
        return self.tracer.start_as_current_span("numerous page", attributes={"numerous.app": app})

    def watch(self, connection: Connection, base: str) -> Connection:
        return TracedConnection(connection, self.tracer, app_label(base))


def _attributes(session: Any) -> dict[str, str]:
    return {"numerous.app": app_label(session.base), "numerous.session": session.id[:6]}


class TracedConnection:
    """A WebSocket session as one span, from the handshake to its end."""

    def __init__(self, inner: Connection, tracer: Any, app: str) -> None:
        self._inner = inner
        self._span = tracer.start_span("numerous websocket", attributes={"numerous.app": app})
        self._ended = False

    async def send(self, frame: Frame) -> None:
        await self._inner.send(frame)

    async def receive(self) -> Frame:
        try:
            return await self._inner.receive()
        except Disconnected as exc:
            self._end(exc.code)
            raise

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._end(code)
        await self._inner.close(code, reason)

    def _end(self, code: int) -> None:
        if not self._ended:
            self._ended = True
            self._span.set_attribute("numerous.close_code", code)
            self._span.end()


class Observers:
    """Several observers as one."""

    def __init__(self, *observers: Any) -> None:
        self.observers = observers

    def session_opened(self, session: Any) -> None:
        for observer in self.observers:
            observer.session_opened(session)

    def session_closed(self, session: Any, reason: str, code: int) -> None:
        for observer in self.observers:
            observer.session_closed(session, reason, code)

    def callback(self, session: Any, seconds: float, failed: bool) -> None:
        for observer in self.observers:
            observer.callback(session, seconds, failed)

    def login(self, event: str) -> None:
        for observer in self.observers:
            observer.login(event)

    def task_cancelled(self) -> None:
        for observer in self.observers:
            observer.task_cancelled()

    def store_failure(self, operation: str) -> None:
        for observer in self.observers:
            report = getattr(observer, "store_failure", None)
            if report is not None:
                report(operation)
