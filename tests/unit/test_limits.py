"""Request body budgets, against a real uvicorn server: bodies counted as they stream (chunked
bodies carry no Content-Length) and refused with a 413 before they are parsed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request

from numerous.apps import SecurityPolicy, combine_apps
from numerous.apps._client import CLIENT_COOKIE

from . import _agent_support as agent
from . import _auth_support as auth
from ._edge import PeakRSS, connect, post_chunked, read_response, request_head, running

MiB = 1024 * 1024
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def with_echo(app: Any, path: str = "/echo") -> Any:
    """Add a route that reads its whole body and says how long it was."""

    @app.post(path)
    async def echo(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    return app


def test_a_chunked_body_to_an_agent_action_is_cut_off_and_memory_stays_flat(
        tmp_path: Path) -> None:
    app = agent.make_app(tmp_path)
    with running(app) as port, PeakRSS() as rss:
        status, sent, body = post_chunked(
            port, f"{agent.API}/sessions/nope/actions/add", b'{"a":[1,2]},' * 5000,
            40 * MiB, first=b'{"amount":[', last=b"0]}")
    assert status == 413, body
    assert json.loads(body)["detail"]["error"] == "too_large"
    assert sent < 20 * MiB, "the server read on past the budget"
    assert rss.growth < 80 * MiB, f"RSS grew by {rss.growth // MiB} MiB"


def test_a_chunked_login_form_is_cut_off_at_the_budget(tmp_path: Path) -> None:
    app = auth.make_app(tmp_path, auth.env_provider())
    with running(app) as port:
        status, sent, _ = post_chunked(port, "/api/auth/login", b"&" * 65536, 20 * MiB, FORM)
    assert status == 413
    assert sent < 4 * MiB


def test_a_content_length_over_the_budget_is_refused_before_any_body_is_sent(
        tmp_path: Path) -> None:
    app = with_echo(agent.make_app(tmp_path, agent_api=False))
    with running(app) as port, connect(port, timeout=3) as sock:
        sock.sendall(request_head("POST", "/echo", {
            "Host": f"127.0.0.1:{port}", "Content-Length": str(10 * MiB),
            "Content-Type": "application/octet-stream"}))
        status, headers, _ = read_response(sock, timeout=3)
    assert status == 413
    assert headers["connection"] == "close"


def test_budgets_are_per_path_and_bodies_within_them_arrive_whole(tmp_path: Path) -> None:
    policy = SecurityPolicy(body_limits={"/upload": 2 * MiB})
    app = with_echo(with_echo(agent.make_app(tmp_path, security=policy)), "/upload/file")
    with running(app) as port:
        status, sent, body = post_chunked(port, "/upload/file", b"x" * 65536, MiB)
        assert (status, json.loads(body)) == (200, {"length": MiB})
        assert post_chunked(port, "/upload/file", b"x" * 65536, 8 * MiB)[0] == 413
        assert post_chunked(port, "/echo", b"x" * 16384, 32768)[0] == 200
        assert post_chunked(port, "/echo", b"x" * 65536, MiB)[0] == 413


def put_label(port: int, size: int, base: str = "") -> int:
    """Set a trait of an unknown session through the agent API with a `size`-byte value:
    404 once the body has been read and parsed, 413 if it was cut off."""
    url = f"{base}{agent.API}/sessions/nope/widgets/counter/traits/label"
    cookie = {"Cookie": f"{CLIENT_COOKIE}={'c' * 32}"}
    return post_chunked(port, url, b"x" * 65536, size, cookie, first=b'{"value":"',
                        last=b'"}', method="PUT")[0]


def test_the_agent_api_keeps_its_own_larger_budget(tmp_path: Path) -> None:
    app = agent.make_app(tmp_path)
    with running(app) as port:
        assert put_label(port, 512 * 1024) == 404
        assert put_label(port, 40 * MiB) == 413


def test_a_combined_server_limits_its_own_routes_and_leaves_each_app_its_budget(
        tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    main = with_echo(combine_apps({"/a": agent.make_app(tmp_path / "a")}))
    with running(main) as port:
        assert post_chunked(port, "/echo", b"x" * 65536, MiB)[0] == 413
        assert put_label(port, 512 * 1024, base="/a") == 404
        assert put_label(port, 40 * MiB, base="/a") == 413


def test_an_answer_that_leaves_a_large_body_unread_closes_the_connection(
        tmp_path: Path) -> None:
    """A route that never reads the body (here a 405) must not let the server drain
    gigabytes to keep the connection alive."""
    with running(agent.make_app(tmp_path)) as port, connect(port, timeout=3) as sock:
        sock.sendall(request_head("POST", "/numerous/health", {
            "Host": f"127.0.0.1:{port}", "Content-Length": str(1024 * MiB)}))
        status, headers, _ = read_response(sock, timeout=3)
        assert status == 405
        assert headers["connection"] == "close"
        sock.settimeout(3)
        assert sock.recv(1024) == b"", "the server kept the connection to read the body"
