"""A reload moves only what the page does not have: the page itself is revalidated (304) and
the snapshot names the widget states the page kept from its last load."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import ipywidgets
import pytest

from numerous.apps._protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    _numbered,
    dumps,
    parse_hello,
    state_digest,
)

from ._auth_support import PAGE, env_provider, login
from ._support import TestClient, config_of, make_app, ws_message


def _hello(session: str, **extra: Any) -> str:
    return json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION, "session": session,
                       **extra})


def _snapshot(ws: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    opens = []
    while (message := ws_message(ws))["type"] != "ready":  # type: ignore[index]
        opens.append(message)
    return opens, message  # type: ignore[return-value]


@pytest.fixture
def client(tmp_path: Path) -> Any:
    with TestClient(make_app(tmp_path / "app")) as client:
        yield client


def test_a_reload_gets_a_304_and_a_session_of_its_own_with_the_states_it_kept(client: Any) -> None:
    first = client.get("/?tab=2")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "private, no-cache"
    tag = first.headers["etag"]
    config = config_of(first.text)
    with client.websocket_connect(config["ws"]) as ws:
        ws.send_text(_hello(config["session"], page="P1", url="/?tab=2"))
        opens, ready = _snapshot(ws)
    assert all("d" in message and "state" in message for message in opens)
    assert "session" not in ready  # the page's own session

    again = client.get("/?tab=2", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag

    # The browser shows its copy, which names the first session; the page is a new one.
    kept = [message["d"] for message in opens]
    with client.websocket_connect(config["ws"]) as ws:
        ws.send_text(_hello(config["session"], page="P2", url="/?tab=2", have=kept))
        reopened, ready = _snapshot(ws)
    assert ready["session"] != config["session"]
    assert set(ready["widgets"]) == set(config["widgets"])
    assert ready["widgets"]["counter"] not in config["widgets"].values()  # new models
    assert [message.get("ref") for message in reopened] == kept
    assert all("state" not in message for message in reopened)
    # The counter refers to its new Layout model: the reference is numbered in the digest.
    counter = next(m for m in reopened if m["id"] == ready["widgets"]["counter"])
    layout_ids = {m["id"] for m in reopened} - {counter["id"]}
    assert set(counter["ids"]) <= layout_ids and counter["ids"]

    # Its reconnects keep that session; a reconnect of the first page keeps the first one.
    with client.websocket_connect(config["ws"]) as ws:
        ws.send_text(_hello(ready["session"], page="P2", url="/?tab=2"))
        _, again_ready = _snapshot(ws)
    assert "session" not in again_ready
    with client.websocket_connect(config["ws"]) as ws:
        ws.send_text(_hello(config["session"], page="P1", url="/?tab=2"))
        _, own = _snapshot(ws)
    assert "session" not in own


def test_a_held_session_goes_only_to_its_owner_and_address(tmp_path: Path) -> None:
    app = make_app(tmp_path / "app")
    with TestClient(app) as alice, TestClient(app) as mallory:
        page = alice.get("/?x=a")
        config = config_of(page.text)
        assert alice.get("/?x=a", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
        mallory.get("/?x=a")
        # Another owner naming Alice's session gets nothing of hers.
        with mallory.websocket_connect(config["ws"]) as ws:
            ws.send_text(_hello(config["session"], page="M", url="/?x=a"))
            assert ws_message(ws)["type"] == "session_lost"  # type: ignore[index]
        # Alice's page at another address does not take the session held for /?x=a ...
        with alice.websocket_connect(config["ws"]) as ws:
            ws.send_text(_hello(config["session"], page="P1", url="/?x=a"))
            _, ready = _snapshot(ws)  # (binds the first session to page P1)
        with alice.websocket_connect(config["ws"]) as ws:
            ws.send_text(_hello(config["session"], page="P2", url="/?x=b"))
            _, other = _snapshot(ws)
        assert "session" not in other  # no held session there: it takes over the old one
        # ... and her page at /?x=a does.
        with alice.websocket_connect(config["ws"]) as ws:
            ws.send_text(_hello(config["session"], page="P3", url="/?x=a"))
            _, held = _snapshot(ws)
        assert held["session"] not in (None, config["session"])


def test_a_changed_page_is_sent_again(tmp_path: Path) -> None:
    folder = tmp_path / "app"
    with TestClient(make_app(folder)) as client:
        tag = client.get("/").headers["etag"]
        assert client.get("/", headers={"If-None-Match": tag}).status_code == 304
        assert client.get("/", headers={"If-None-Match": 'W/"other"'}).status_code == 200
    with TestClient(make_app(folder, template="<main>{{ counter }} v2</main>")) as client:
        changed = client.get("/", headers={"If-None-Match": tag})
        assert changed.status_code == 200
        assert "v2" in changed.text
        assert changed.headers["etag"] != tag


def test_the_digest_is_the_same_in_every_session_and_absent_for_binary_states() -> None:
    one, two = ipywidgets.IntSlider(value=3), ipywidgets.IntSlider(value=3)
    try:
        a, b = state_digest(one.get_state()), state_digest(two.get_state())
        assert a is not None and b is not None
        assert a[0] == b[0]
        assert a[1] == [one.layout.model_id, one.style.model_id]
        assert b[1] == [two.layout.model_id, two.style.model_id]
        two.value = 4
        assert state_digest(two.get_state())[0] != a[0]  # type: ignore[index]
    finally:
        for widget in (one, two):
            widget.close()
    assert state_digest({"data": b"\x00\x01"}) is None


def test_a_hello_keeps_only_well_formed_page_fields() -> None:
    base = {"type": "hello", "protocol": PROTOCOL_VERSION, "session": "s"}
    hello = parse_hello({**base, "page": "p", "url": "/x?y=1", "have": ["a", 3, "b" * 40, "c"]})
    assert (hello["page"], hello["url"], hello["have"]) == ("p", "/x?y=1", ["a", "c"])
    junk = parse_hello({**base, "page": "p" * 65, "url": 5, "have": "abc"})
    assert not {"page", "url", "have"} & set(junk)
    with pytest.raises(ProtocolError):
        parse_hello({"type": "hello", "protocol": PROTOCOL_VERSION})


def test_a_signed_in_users_page_is_never_kept_by_the_browser(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path / "app", env_provider())) as client:
        assert login(client, "ann").status_code == 200
        page = client.get("/", headers=PAGE)
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "etag" not in page.headers


async def test_held_sessions_are_let_go_when_they_close() -> None:
    from numerous.apps._sessions import MAX_HELD, SessionLimits, SessionManager

    from ._support import Field

    manager = SessionManager(SessionLimits())
    sessions = []
    for _ in range(MAX_HELD + 2):
        session, built = manager.create(lambda: {"f": Field()}, owner="o" * 32, base="")
        await built
        manager.hold("o" * 32, "/", session)
        sessions.append(session)
    for session in sessions:
        manager.close(session)
    await asyncio.sleep(0.05)
    assert manager._held == {}  # noqa: SLF001 - nothing kept for sessions that are gone
    assert manager.claim("o" * 32, "/") is None


def test_a_states_references_are_numbered_the_same_in_its_text_as_in_its_value() -> None:
    """The digest numbers references in the JSON text (fast for big states); where the text
    cannot say what a string is, the value is walked. Both give the walk's digest."""
    def walked(state: dict[str, Any]) -> tuple[str, list[str]]:
        ids: list[str] = []
        text = dumps(_numbered(state, ids))
        digest = hashlib.blake2b(text.encode(), digest_size=12).digest()
        return base64.urlsafe_b64encode(digest).decode(), ids

    ref = "IPY_MODEL_"
    states = [
        {"children": [f"{ref}b", f"{ref}a", f"{ref}b"], "layout": f"{ref}c",
         "points": [{"x": i, "y": -i} for i in range(1000)]},
        {"nested": {"deep": [[f"{ref}z"]], "n": 1}, "text": "a note about IPY_MODEL_s"},
        {f"{ref}key": f"{ref}v", "s": f'{ref}with"quote', "t": f"x{ref}y"},  # the walk decides
        {"plain": [1, 2.5, None, True, "é"]},
    ]
    for state in states:
        assert state_digest(state) == walked(state)
    assert state_digest(states[0])[1] == ["b", "a", "c"]  # type: ignore[index]
