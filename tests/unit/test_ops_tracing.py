"""OpenTelemetry spans (numerous.apps.ops._tracing) for a page load, a WebSocket session and a
callback, caught by the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from numerous.apps.ops import _tracing

from ._support import PAGE_TEMPLATE, config_of, make_app, wait_until, ws_hello, ws_message


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The global provider can be set once per process; the test's stands in for it.
    monkeypatch.setattr(_tracing.trace, "get_tracer_provider", lambda: provider)
    monkeypatch.setattr(_tracing.trace, "get_tracer",
                        lambda name: provider.get_tracer(name))
    yield exporter
    provider.shutdown()


def test_a_page_load_a_session_and_a_callback_are_spans(
        tmp_path: Path, served: Any, spans: InMemorySpanExporter) -> None:
    client = served(make_app(tmp_path, template=PAGE_TEMPLATE, dev=True))
    session = config_of(client.get("/").text)["session"]
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, session)
        while True:
            message = ws_message(ws)
            assert isinstance(message, dict)
            if message["type"] == "ready":
                break
        model_id = message["widgets"]["counter"]
        ws.send_text('{"type": "update", "id": "%s", "state": {"value": 2}, "seq": 1}'
                     % model_id)
        ws.send_text('{"type": "sync", "token": 1}')
        while not (isinstance(m := ws_message(ws), dict) and m["type"] == "synced"):
            pass
    wait_until(lambda: "numerous websocket" in names(spans))
    found = {span.name: span for span in spans.get_finished_spans()}
    assert {"numerous page", "numerous websocket", "numerous callback"} <= set(found)
    callback = found["numerous callback"]
    assert callback.attributes is not None
    assert callback.attributes["numerous.session"] == session[:6]
    assert found["numerous page"].attributes == {"numerous.app": "/"}


def names(spans: InMemorySpanExporter) -> set[str]:
    return {span.name for span in spans.get_finished_spans()}


def test_without_a_provider_or_endpoint_there_is_no_tracer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_tracing.trace, "get_tracer_provider", trace.NoOpTracerProvider)
    assert _tracing.tracer() is None
