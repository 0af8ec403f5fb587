"""Sessions under authentication: the WebSocket needs a signed-in user, a session belongs to
the user and browser that opened it, and run_app() sees the User."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect


from ._auth_support import (
    PAGE,
    config_of,
    env_provider,
    login,
    make_app,
    put_cookie,
    until_ready,
    ws_hello,
    ws_message,
)



def test_run_app_sees_the_user_and_the_session_holds_it(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider())
    client = served(app)
    login(client, "ann")
    config = config_of(client.get("/", headers=PAGE).text)
    session = next(iter(app.numerous.sessions))
    assert session.user.username == "ann" and session.user.roles == ["viewer"]
    assert session.widgets["counter"].owner == "ann"
    assert "ann" in session.owner and client.cookies["numerous_client"] in session.owner
    with client.websocket_connect(config["ws"]) as ws:
        ws_hello(ws, config["session"])
        opened = until_ready(ws)
        assert any(m.get("state", {}).get("owner") == "ann" for m in opened)


def test_the_websocket_without_a_token_is_closed_4401(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider())
    client = served(app)
    login(client, "ann")
    config = config_of(client.get("/", headers=PAGE).text)
    client.cookies.delete("access_token")
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        assert ws_message(ws) == 4401


def test_the_websocket_with_a_forged_token_is_closed_4401(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider())
    client = served(app)
    login(client, "ann")
    config = config_of(client.get("/", headers=PAGE).text)
    put_cookie(client, "access_token", env_provider().tokens.issue(
        next(iter(app.numerous.sessions)).user, "access").token)
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        assert ws_message(ws) == 4401


def test_a_session_of_user_a_is_refused_to_user_b_in_the_same_browser(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider())
    client = served(app)
    login(client, "ann")
    config = config_of(client.get("/", headers=PAGE).text)
    login(client, "bob")  # same browser (same numerous_client cookie), another user
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        lost = ws_message(ws)
        assert isinstance(lost, dict) and lost["type"] == "session_lost"
        assert ws_message(ws) == 4404


def test_a_session_of_user_a_is_refused_to_user_a_in_another_browser(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider())
    first, second = served(app), served(app)
    login(first, "ann")
    config = config_of(first.get("/", headers=PAGE).text)
    login(second, "ann")
    second.get("/", headers=PAGE)
    with second.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        assert ws_message(ws)["type"] == "session_lost"  # type: ignore[index]
        assert ws_message(ws) == 4404


def test_a_cross_site_websocket_with_the_users_cookies_is_refused(tmp_path: Path,
                                                                  served: Any) -> None:
    app = make_app(tmp_path, env_provider())
    client = served(app)
    login(client, "ann")
    client.get("/", headers=PAGE)
    with (pytest.raises(WebSocketDisconnect) as refused,
          client.websocket_connect("/numerous/ws", headers={"origin": "https://evil.example"})):
        pass
    assert refused.value.code == 1008
    assert all(session.connection is None for session in app.numerous.sessions)


def test_the_websocket_is_closed_4401_when_its_access_token_runs_out(tmp_path: Path,
                                                                    served: Any) -> None:
    app = make_app(tmp_path, env_provider(access_token_lifetime=2))
    client = served(app)
    login(client, "ann")
    config = config_of(client.get("/", headers=PAGE).text)
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        until_ready(ws)
        assert ws_message(ws, timeout=4) == 4401
    # The page renews its sign-in and reconnects: the same session, still alive.
    assert client.post("/api/auth/refresh").status_code == 200
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        assert until_ready(ws)[-1]["type"] == "ready"


def test_revoking_a_users_tokens_ends_their_open_sessions(tmp_path: Path, served: Any) -> None:
    provider = env_provider()
    app = make_app(tmp_path, provider)
    client = served(app)
    login(client, "ann")
    config = config_of(client.get("/", headers=PAGE).text)
    user = next(iter(app.numerous.sessions)).user
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        until_ready(ws)
        client.portal.call(provider.revoke_user_tokens, user.id)
        lost = ws_message(ws)
        assert isinstance(lost, dict) and lost["type"] == "session_lost"
        assert ws_message(ws) == 4404
    assert len(app.numerous.sessions) == 0
    assert client.post("/api/auth/refresh").status_code == 401


def test_the_owner_still_resumes_after_a_refresh(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider())
    client = served(app)
    login(client, "ann")
    config = config_of(client.get("/", headers=PAGE).text)
    assert client.post("/api/auth/refresh").status_code == 200
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        assert until_ready(ws)[-1]["type"] == "ready"


def test_logout_ends_the_sessions_of_that_browser(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider())
    client, other = served(app), served(app)
    login(client, "ann")
    login(other, "ann")
    config = config_of(client.get("/", headers=PAGE).text)
    other.get("/", headers=PAGE)
    assert len(app.numerous.sessions) == 2
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        until_ready(ws)
        client.post("/api/auth/logout", headers={"accept": "application/json"})
        lost = ws_message(ws)
        assert isinstance(lost, dict) and lost["type"] == "session_lost"
    assert len(app.numerous.sessions) == 1, "ann's session in the other browser goes on"


def test_a_public_app_page_works_signed_out_and_knows_a_signed_in_user(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider(), protected_routes=["/admin/*"])
    client = served(app)
    config = config_of(client.get("/", headers=PAGE).text)
    assert next(iter(app.numerous.sessions)).user is None
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        assert until_ready(ws)[-1]["type"] == "ready"
    login(client, "ann")
    client.get("/", headers=PAGE)
    users = {s.user.username if s.user else None for s in app.numerous.sessions}
    assert users == {None, "ann"}
