"""Slow clients under `numerous run`: a connection that has not sent complete request headers
within the header deadline is dropped, an idle kept-alive one after the keep-alive timeout,
and the server serves other clients all the while."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from numerous.cli import main as main_module

from . import _agent_support as agent
from ._edge import connect, read_response, request_head, running

HEAD = b"GET /numerous/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200


def closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Whether the server closed `sock` before `deadline` (monotonic time)."""
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def trickle(socks: list[socket.socket], data: bytes, seconds: float) -> None:
    """Send `data` one byte at a time on every socket, spread over `seconds`."""
    pause = seconds / len(data)
    for byte in data:
        for sock in socks:
            try:
                sock.send(bytes([byte]))
            except OSError:
                pass
        time.sleep(pause)


def test_clients_sending_headers_slowly_are_dropped_and_others_served(tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path), timeout_headers=1.0) as port:
        silent = connect(port)
        slow = [connect(port) for _ in range(30)]
        started = time.monotonic()
        trickle(slow, HEAD[:40], 0.8)
        answer = httpx.get(f"http://127.0.0.1:{port}/numerous/health", timeout=2)
        assert answer.status_code == 200, "others are served while slow clients are held"
        trickle(slow, HEAD[40:60], 0.4)
        deadline = started + 3.0
        assert closed_by_server(silent, deadline), "a connection that sent nothing was kept"
        assert all(closed_by_server(sock, deadline) for sock in slow)
        for sock in [silent, *slow]:
            sock.close()


def test_the_deadline_applies_to_each_request_of_a_kept_alive_connection(
        tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path), timeout_headers=1.0, timeout_keep_alive=30) as port:
        with connect(port) as sock:
            sock.sendall(request_head("GET", "/numerous/health", {"Host": "127.0.0.1"}))
            assert read_response(sock)[0] == 200
            started = time.monotonic()
            trickle([sock], HEAD[:30], 1.5)
            assert closed_by_server(sock, started + 3.0)


def test_a_request_sent_whole_is_answered_even_when_the_deadline_is_short(
        tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path), timeout_headers=0.5) as port:
        for _ in range(3):
            assert httpx.get(f"http://127.0.0.1:{port}/numerous/health").status_code == 200


def test_an_idle_kept_alive_connection_is_closed(tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path), timeout_keep_alive=1) as port:
        with connect(port) as sock:
            sock.sendall(request_head("GET", "/numerous/health", {"Host": "127.0.0.1"}))
            assert read_response(sock)[0] == 200
            assert closed_by_server(sock, time.monotonic() + 3.0)


def test_run_takes_the_timeouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app.py").write_text(
        "from numerous.apps import create_app\n"
        "app = create_app('index.html.j2', widgets={})\n")
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(main_module, "serve", lambda app, *args, **kwargs: served.append(kwargs))
    result = CliRunner().invoke(main_module.cli, [
        "run", str(tmp_path / "app.py"), "--timeout-headers", "4", "--timeout-keep-alive", "2"])
    assert result.exit_code == 0, result.output
    assert (served[0]["timeout_headers"], served[0]["timeout_keep_alive"]) == (4.0, 2)


def test_a_websocket_outlives_the_header_deadline(tmp_path: Path) -> None:
    with running(agent.make_app(tmp_path), timeout_headers=0.5) as port:
        with connect(port) as sock:
            sock.sendall(request_head("GET", "/numerous/ws", {
                "Host": f"127.0.0.1:{port}", "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}))
            assert read_response(sock)[0] == 101
            assert not closed_by_server(sock, time.monotonic() + 1.5)
