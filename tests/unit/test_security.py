"""What responses tell strangers: no server banner, no session count in the health check unless
asked, HSTS only when asked and only over https, security headers on combine_apps' index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from numerous.apps import SecurityPolicy, combine_apps

from . import _agent_support as agent
from ._edge import running


def test_responses_do_not_name_the_server(tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path)) as port:
        response = httpx.get(f"http://127.0.0.1:{port}/numerous/health")
    assert response.status_code == 200
    assert "server" not in response.headers


def test_the_health_check_tells_strangers_nothing_but_health(tmp_path: Path,
                                                              served: Any) -> None:
    client = served(agent.make_app(tmp_path))
    client.get("/")
    response = client.get("/numerous/health")
    assert response.json() == {"status": "healthy"}
    assert response.headers["cache-control"] == "no-store"
    # The count, for apps that want it, is in test_app.py (SecurityPolicy(health_sessions=True)).


def test_hsts_is_sent_over_https_only_and_only_when_asked(tmp_path: Path, served: Any) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = served(agent.make_app(tmp_path / "a"), base_url="https://testserver")
    assert "strict-transport-security" not in plain.get("/numerous/health").headers
    app = agent.make_app(tmp_path / "b", security=SecurityPolicy(hsts_max_age=31_536_000))
    secure = served(app, base_url="https://testserver")
    for path in ("/", "/numerous/health", "/nowhere"):
        assert secure.get(path).headers["strict-transport-security"] == "max-age=31536000"
    insecure = served(app, base_url="http://testserver")
    assert "strict-transport-security" not in insecure.get("/").headers


def test_the_index_of_combined_apps_carries_the_page_security_headers(tmp_path: Path,
                                                                      served: Any) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    client = served(combine_apps({"/a": agent.make_app(tmp_path / "a"),
                                  "/b": agent.make_app(tmp_path / "b")}))
    index = client.get("/")
    assert index.status_code == 200 and "<ul>" in index.text
    assert "frame-ancestors 'self'" in index.headers["content-security-policy"]
    assert "default-src 'self'" in index.headers["content-security-policy"]
    assert index.headers["x-frame-options"] == "SAMEORIGIN"
    assert index.headers["x-content-type-options"] == "nosniff"
