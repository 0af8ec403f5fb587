"""What responses tell strangers: no server banner, no session count in the health check unless
asked, HSTS only when asked and only over https, security headers on combine_apps' index."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import anywidget
import httpx

from numerous.apps import SecurityPolicy, combine_apps

from . import _agent_support as agent
from ._edge import running
from ._support import make_app


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


def _directives(header: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (d.split() for d in header.split("; "))}


def test_origins_that_widget_code_imports_from_go_into_the_policy(tmp_path: Path,
                                                                   served: Any) -> None:
    """Altair's JupyterChart imports vega from esm.sh: the page allows that origin by itself."""
    class Chart(anywidget.AnyWidget):
        _esm = ('import embed from "https://esm.sh/vega-embed@7?deps=vega@6";\n'
                'const more = () => import("https://cdn.example.org/x.js");\n'
                "export default { render() {} };")

    page = served(make_app(tmp_path, app_generator=lambda: {"counter": Chart()})).get("/")
    policy = _directives(page.headers["content-security-policy"])
    for directive in ("script-src", "connect-src"):
        assert "https://esm.sh" in policy[directive]
        assert "https://cdn.example.org" in policy[directive]
    assert "'unsafe-eval'" not in policy["script-src"]


def test_allow_eval_is_the_one_switch_for_code_compiled_at_run_time() -> None:
    assert "'unsafe-eval'" not in SecurityPolicy().header()
    assert "script-src 'self' 'unsafe-eval'" in SecurityPolicy(allow_eval=True).header()


def test_the_one_inline_script_runs_first_in_the_head_and_only_by_its_hash(
        tmp_path: Path, served: Any) -> None:
    """The script that opens the WebSocket while the client loads (early.js) comes before the
    template's stylesheets, which would hold it back, and the policy names its exact text."""
    template = ('<!DOCTYPE html><html><head><link href="static/a.css" rel="stylesheet">'
                "</head><body>{{ counter }}</body></html>")
    page = served(make_app(tmp_path / "app", template=template)).get("/")
    scripts = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert len(scripts) == 1
    assert page.text.index("<script>") < page.text.index('<link href="static/a.css"')
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = _directives(page.headers["content-security-policy"])
    assert f"'sha256-{digest}'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
