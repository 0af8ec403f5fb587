"""Prometheus metrics (numerous.apps.ops): scraped from /numerous/metrics and parsed with
prometheus-client's own parser; each test checks that the numbers move with what it does.

The metrics are process-wide, so every check compares a scrape after with one before."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import pytest
import traitlets
from prometheus_client.parser import text_string_to_metric_families

from ._auth_support import PAGE, env_provider, login
from ._support import TestClient, config_of, make_app, ws_hello, ws_message

TOKEN = "scrape-token-" + "x" * 20
BEARER = {"authorization": f"Bearer {TOKEN}"}


def scrape(client: TestClient, base: str = "") -> dict[tuple[str, tuple[Any, ...]], float]:
    response = client.get(f"{base}/numerous/metrics", headers=BEARER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[Any, ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: Any, after: Any, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def open_page(client: TestClient, base: str = "") -> str:
    response = client.get(f"{base}/", headers=PAGE)
    assert response.status_code == 200, response.text
    return str(config_of(response.text)["session"])


@pytest.fixture
def ops_app(tmp_path: Path, served: Any) -> TestClient:
    return served(make_app(tmp_path, metrics=True))


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMEROUS_METRICS_TOKEN", TOKEN)


def test_three_sessions_are_three_live_and_three_opened(ops_app: TestClient) -> None:
    before = scrape(ops_app)
    for _ in range(3):
        open_page(ops_app)
    after = scrape(ops_app)
    assert moved(before, after, "numerous_sessions_live", app="/") == 3
    assert moved(before, after, "numerous_sessions_opened_total", app="/") == 3
    assert moved(before, after, "numerous_page_loads_total", app="/", status="200") == 3
    assert moved(before, after, "numerous_page_ttfb_seconds_count", app="/") == 3
    # Sessions share a pool of threads: at least one ran their run_app(), never one each.
    assert 1 <= value(after, "numerous_session_threads") <= threading.active_count()


def test_an_ended_session_counts_as_closed_by_its_reason(ops_app: TestClient) -> None:
    runtime = ops_app.app.numerous  # type: ignore[attr-defined]
    open_page(ops_app)
    before = scrape(ops_app)
    session = next(iter(runtime.sessions))
    ops_app.portal.call(_end, runtime, session)  # type: ignore[union-attr]
    after = scrape(ops_app)
    assert moved(before, after, "numerous_sessions_live", app="/") == -1
    assert moved(before, after, "numerous_sessions_closed_total", app="/", reason="admin") == 1


async def _end(runtime: Any, session: Any) -> None:
    from numerous.apps.ops import ADMIN_REASON

    runtime.sessions.close(session, ADMIN_REASON)


class Slow(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)


def run_slow() -> dict[str, Any]:
    widget = Slow()
    widget.observe(lambda _: time.sleep(0.03), names="value")
    return {"counter": widget}


def test_a_slow_callback_lands_in_its_bucket(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, app_generator=run_slow, metrics=True))
    session = open_page(client)
    before = scrape(client)
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, session)
        ready = _until(ws, "ready")
        model_id = ready["widgets"]["counter"]
        ws.send_text('{"type": "sync", "token": 0}')
        _until(ws, "synced")
        ws.send_text('{"type": "update", "id": "%s", "state": {"value": 5}, "seq": 1}' % model_id)
        ws.send_text('{"type": "sync", "token": 1}')
        _until(ws, "synced")
    after = scrape(client)
    bucket = "numerous_callback_seconds_bucket"
    assert moved(before, after, bucket, app="/", le="0.025") == 0
    assert moved(before, after, bucket, app="/", le="0.05") == 1
    assert moved(before, after, "numerous_callback_seconds_count", app="/") == 1
    assert moved(before, after, "numerous_ws_frames_total", app="/", direction="in") == 4
    assert moved(before, after, "numerous_ws_bytes_total", app="/", direction="in") > 100
    assert moved(before, after, "numerous_ws_frames_total", app="/", direction="out") >= 3


def _until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message = ws_message(ws)
        assert isinstance(message, dict), f"closed with {message}"
        if message["type"] == kind:
            return message


def test_a_bad_frame_counts_as_a_protocol_close(ops_app: TestClient) -> None:
    open_page(ops_app)  # for the client cookie
    before = scrape(ops_app)
    with ops_app.websocket_connect("/numerous/ws") as ws:
        ws.send_text("this is not a hello")
        assert ws_message(ws) == 4400
    after = scrape(ops_app)
    assert moved(before, after, "numerous_ws_closed_total", app="/", reason="protocol") == 1


def test_login_attempts_failures_and_lockouts_are_counted(tmp_path: Path, served: Any) -> None:
    from numerous.apps.auth import LoginLimits

    provider = env_provider(login_limits=LoginLimits(per_username=2, per_address=100))
    client = served(make_app(tmp_path, provider, metrics=True))
    before = scrape(client)
    for _ in range(3):
        login(client, "ann", "wrong-password")
    assert login(client, "ann").status_code == 429
    after = scrape(client)
    assert moved(before, after, "numerous_login_attempts_total") == 2
    assert moved(before, after, "numerous_login_failures_total") == 2
    assert moved(before, after, "numerous_login_lockouts_total") == 2


def test_metrics_need_the_token_or_an_admin(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider(), metrics=True))
    assert client.get("/numerous/metrics").status_code == 401
    assert client.get("/numerous/metrics", headers={"authorization": "Bearer nope"}
                      ).status_code == 401
    login(client, "ann")
    assert client.get("/numerous/metrics").status_code == 403
    login(client, "root")
    assert client.get("/numerous/metrics").status_code == 200
    assert scrape(client)  # the token works with a sign-in too


def test_metrics_are_off_in_production_unless_asked(tmp_path: Path, served: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMEROUS_METRICS_TOKEN")
    client = served(make_app(tmp_path))
    assert client.get("/numerous/metrics").status_code == 404
    assert client.get("/numerous/admin/").status_code == 404


def test_without_a_token_or_sign_in_production_metrics_are_refused(
        tmp_path: Path, served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMEROUS_METRICS_TOKEN")
    client = served(make_app(tmp_path, metrics=True))
    assert client.get("/numerous/metrics").status_code == 403


def test_dev_mode_serves_metrics_without_a_sign_in(tmp_path: Path, served: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMEROUS_METRICS_TOKEN")
    client = served(make_app(tmp_path, dev=True))
    assert client.get("/numerous/metrics").status_code == 200


def test_combined_apps_are_told_apart_by_their_path(tmp_path: Path, served: Any) -> None:
    from numerous.apps import combine_apps

    one = make_app(tmp_path / "one", metrics=True)
    two = make_app(tmp_path / "two", metrics=True)
    client = served(combine_apps({"/one": one, "/two": two}))
    before = scrape(client, "/one")
    open_page(client, "/one")
    open_page(client, "/two")
    open_page(client, "/two")
    after = scrape(client, "/two")
    assert moved(before, after, "numerous_sessions_live", app="/one") == 1
    assert moved(before, after, "numerous_sessions_live", app="/two") == 2



def test_the_grafana_dashboard_uses_only_exported_metrics() -> None:
    import json
    import re

    from numerous.apps.ops import metrics

    exported = {getattr(m, "_name") for m in vars(metrics()).values() if hasattr(m, "_name")}
    dashboard = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "numerous-apps.json"
    panels = json.loads(dashboard.read_text())["panels"]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", name)
            for panel in panels for target in panel["targets"]
            for name in re.findall(r"numerous_\w+", target["expr"])}
    assert used and used <= exported, used - exported
    assert len(exported - used) == 0, f"not on the dashboard: {exported - used}"
