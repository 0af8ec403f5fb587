"""The Host allow-list of `numerous run`: a page of another name (DNS rebinding: the attacker's
name resolves to this server) reaches neither the app's API nor its WebSocket."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from numerous.cli import main as main_module
from numerous.apps._hosts import default_allowed_hosts

from . import _agent_support as agent
from ._edge import connect, read_response, request_head, running

EVIL = "rebind.attacker.example"


def ask(port: int, method: str, path: str, host: str | None, **headers: str) -> int:
    """The status of one request with this Host (None: no Host header at all)."""
    head = ({"Host": host} if host is not None else {}) | headers
    with connect(port, timeout=5) as sock:
        sock.sendall(request_head(method, path, {**head, "Content-Length": "2"}) + b"{}")
        return read_response(sock, timeout=5)[0]


def handshake(port: int, host: str) -> int:
    key = base64.b64encode(os.urandom(16)).decode()
    with connect(port, timeout=5) as sock:
        sock.sendall(request_head("GET", "/numerous/ws", {
            "Host": host, "Origin": f"http://{host}", "Upgrade": "websocket",
            "Connection": "Upgrade", "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13"}))
        return read_response(sock, timeout=5)[0]


def test_a_rebound_name_reaches_neither_the_agent_api_nor_the_websocket(tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path)) as port:
        own = f"127.0.0.1:{port}"
        assert ask(port, "POST", f"{agent.API}/sessions", own, Origin=f"http://{own}",
                   **{"Content-Type": "application/json"}) == 201
        assert ask(port, "POST", f"{agent.API}/sessions", f"{EVIL}:{port}",
                   Origin=f"http://{EVIL}:{port}", **{"Content-Type": "application/json"}) == 400
        assert handshake(port, f"{EVIL}:{port}") == 403
        assert handshake(port, own) == 101
        assert ask(port, "GET", "/numerous/health", f"localhost:{port}") == 200


def test_names_given_are_allowed_and_checks_without_a_host_pass(tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path), allowed_hosts=["apps.example.com"]) as port:
        assert ask(port, "GET", "/numerous/health", "apps.example.com") == 200
        assert ask(port, "GET", "/numerous/health", "APPS.example.com:443") == 200
        assert ask(port, "GET", "/numerous/health", f"127.0.0.1:{port}") == 200
        assert ask(port, "GET", "/numerous/health", EVIL) == 400
        # HAProxy's `option httpchk` sends HTTP/1.0 requests without a Host header.
        assert ask(port, "GET", "/numerous/health", None) == 200


def test_a_star_allows_every_host(tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path), allowed_hosts=["*"]) as port:
        assert ask(port, "GET", "/numerous/health", EVIL) == 200


@pytest.mark.parametrize(("bound", "given", "allowed", "refused"), [
    ("127.0.0.1", [], ["127.0.0.1", "localhost", "[::1]:8000"], [EVIL, "10.0.0.1"]),
    ("10.0.0.11", ["apps.example.com"], ["10.0.0.11:8000", "apps.example.com"],
     [EVIL, "localhost", "10.0.0.12"]),
    ("0.0.0.0", [], ["10.0.0.12:8000", "localhost", "[fe80::1]"], [EVIL]),
    ("0.0.0.0", ["*.example.com"], ["a.example.com", "10.1.2.3"], ["example.com.evil"]),
])
def test_the_default_is_the_bound_address_and_the_names_given(
        bound: str, given: list[str], allowed: list[str], refused: list[str]) -> None:
    hosts = default_allowed_hosts(bound, given)
    assert all(hosts.allows(host) for host in allowed), (hosts, allowed)
    assert not any(hosts.allows(host) for host in refused), (hosts, refused)


@pytest.mark.parametrize("command", ["run", "dev"])
def test_run_and_dev_take_the_allowed_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            command: str) -> None:
    (tmp_path / "index.html.j2").write_text("<main></main>")
    (tmp_path / "app.py").write_text(
        "from numerous.apps import create_app\n"
        "app = create_app('index.html.j2', app_generator=dict)\n")
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(main_module, "serve", lambda app, *args, **kwargs: served.append(kwargs))
    result = CliRunner().invoke(main_module.cli, [
        command, str(tmp_path / "app.py"), "--allowed-hosts", "a.example.com, b.example.com"])
    assert result.exit_code == 0, result.output
    assert served[0]["allowed_hosts"] == ["a.example.com", "b.example.com"]
