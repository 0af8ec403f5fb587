"""One connection from hello to close, spoken over an in-memory connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any

import anywidget
import traitlets

from numerous.apps import _socket
from numerous.apps._connection import Disconnected
from numerous.apps._protocol import Close, CloseCode, Custom, Error, Open, Update, decode
from numerous.apps._sessions import SessionLimits
from numerous.apps._socket import encode_message

from ._support import OWNER, WireClient, async_wait_until, join


class Counter(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)


def counter_and_button() -> dict[str, Any]:
    """A counter and a 'button' whose clicks add one to the counter, on the session thread."""
    counter, button = Counter(), Counter()
    button.observe(lambda change: setattr(counter, "value", counter.value + 1), "value")
    return {"counter": counter, "button": button}


async def start(manager: Any, builder: Any = counter_and_button) -> tuple[Any, dict[str, Any]]:
    session, built = manager.create(builder, owner=OWNER, base="")
    return session, await built


async def joined(connect: Any, manager: Any, session: Any) -> WireClient:
    client = await connect(manager, session.id)
    await client.snapshot()
    return client


# --- hello ----------------------------------------------------------------------------------


async def test_hello_with_the_wrong_owner_is_answered_session_lost(
        make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, _ = await start(manager)
    client = await connect(manager, session.id, owner="someone-else" + "x" * 20)
    code, seen = await client.closed()
    assert code == CloseCode.SESSION_UNKNOWN == 4404
    assert [m["type"] for m in seen] == ["session_lost"]
    assert session.alive and not session.closed, "the owner's session is untouched"


async def test_hello_for_an_unknown_session_is_answered_session_lost(
        make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    client = await connect(manager, "unknown-session-id")
    code, seen = await client.closed()
    assert code == 4404
    assert seen[0]["type"] == "session_lost" and seen[0]["reason"]


async def test_a_bad_first_frame_closes_with_4400(make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, _ = await start(manager)
    for first in ["not json", json.dumps({"type": "update", "id": "x", "state": {}, "seq": 1}),
                  json.dumps({"type": "hello", "protocol": 999, "session": session.id}),
                  json.dumps({"type": "hello", "protocol": 1}), b"\x00\x01"]:
        client = await connect(manager)
        await client.send_raw(first)
        code, seen = await client.closed()
        assert code == CloseCode.BAD_HELLO == 4400, first
        assert seen == []


async def test_a_client_that_never_says_hello_is_closed_with_4400(
        make_manager: Any, connect: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(_socket, "HELLO_TIMEOUT", 0.05)
    client = await connect(make_manager())
    code, seen = await client.closed()
    assert code == 4400 and seen == []


async def test_a_client_that_leaves_before_hello_is_fine(make_manager: Any,
                                                         connect: Any) -> None:
    manager = make_manager()
    client = await connect(manager)
    await client.end.close()
    await asyncio.wait_for(client.task, 3)


# --- snapshot -------------------------------------------------------------------------------


async def test_the_snapshot_is_an_open_per_widget_then_ready(make_manager: Any,
                                                             connect: Any) -> None:
    manager = make_manager()
    session, widgets = await start(manager)
    client = await connect(manager, session.id)
    opens, ready = await client.snapshot()

    assert [m["id"] for m in opens] == list(session.comms)  # widgets and their layouts
    assert ready == {"type": "ready", "ack": 0,
                     "widgets": {k: w.model_id for k, w in widgets.items()}}
    counter_open = next(m for m in opens if m["id"] == widgets["counter"].model_id)
    assert counter_open["state"]["value"] == 0
    assert counter_open["state"]["_esm"].startswith("/numerous/assets/")
    assert counter_open["buffer_paths"] == []
    assert all(m["ack"] == 0 for m in opens)
    assert session.connection is not None


async def test_an_update_reaches_the_callback_and_its_change_comes_back_acked(
        make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)

    seq = await client.update(widgets["button"].model_id, {"value": 1})
    message = await client.until("update")
    assert message == {"type": "update", "id": widgets["counter"].model_id,
                       "state": {"value": 1}, "buffer_paths": [], "ack": seq}

    seq = await client.update(widgets["button"].model_id, {"value": 2})
    message = await client.until("update")
    assert message["state"] == {"value": 2} and message["ack"] == seq == 2
    assert widgets["counter"].value == 2


async def test_frames_are_handled_in_the_order_they_arrive(make_manager: Any,
                                                           connect: Any) -> None:
    seen: list[int] = []

    def run_app() -> dict[str, Any]:
        widget = Counter()
        widget.observe(lambda change: seen.append(change["new"]), "value")
        return {"w": widget}

    manager = make_manager()
    session, widgets = await start(manager, run_app)
    client = await joined(connect, manager, session)
    for value in range(1, 101):
        await client.update(widgets["w"].model_id, {"value": value})
    await async_wait_until(lambda: len(seen) == 100)
    assert seen == list(range(1, 101))
    assert session.current_seq == 100


async def test_a_slow_callback_blocks_only_its_own_session(make_manager: Any,
                                                          connect: Any) -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow_app() -> dict[str, Any]:
        widget = Counter()

        def block(change: Any) -> None:
            entered.set()
            release.wait(5)

        widget.observe(block, "value")
        return {"w": widget}

    manager = make_manager()
    slow, slow_widgets = await start(manager, slow_app)
    fast, fast_widgets = await start(manager)
    slow_client = await joined(connect, manager, slow)
    fast_client = await joined(connect, manager, fast)
    try:
        await slow_client.update(slow_widgets["w"].model_id, {"value": 1})
        await async_wait_until(entered.is_set)
        seq = await fast_client.update(fast_widgets["button"].model_id, {"value": 1})
        message = await fast_client.until("update")
        assert message["state"] == {"value": 1} and message["ack"] == seq
        assert not release.is_set()
    finally:
        release.set()


async def test_the_clients_own_value_is_not_echoed(make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    await client.update(widgets["counter"].model_id, {"value": 42})
    await async_wait_until(lambda: widgets["counter"].value == 42)
    await session.call(lambda: None)
    assert await client.quiet() == []


async def test_binary_state_and_custom_messages_cross_the_wire(make_manager: Any,
                                                               connect: Any) -> None:
    class Blob(anywidget.AnyWidget):
        _esm = "export default { render() {} }"
        data = traitlets.Bytes(b"").tag(sync=True)

    received: list[Any] = []

    def run_app() -> dict[str, Any]:
        blob = Blob(data=b"\x00start")

        def on_msg(widget: Any, content: Any, buffers: Any) -> None:
            received.append((content, [bytes(b) for b in buffers]))
            widget.send({"echo": content}, [bytes(b)[::-1] for b in buffers])

        blob.on_msg(on_msg)
        return {"blob": blob}

    manager = make_manager()
    session, widgets = await start(manager, run_app)
    client = await connect(manager, session.id)
    model_id = widgets["blob"].model_id

    while True:
        message, buffers = await client.recv()
        if message["type"] == "open" and message["id"] == model_id:
            break
    assert message["buffer_paths"] == [["data"]]
    assert [bytes(b) for b in buffers] == [b"\x00start"]
    await client.until("ready")

    await client.send({"type": "custom", "id": model_id, "content": {"n": 1}, "seq": 1},
                      [b"abc", b"\x01\x02"])
    message, buffers = await client.recv()
    assert message == {"type": "custom", "id": model_id, "content": {"echo": {"n": 1}}}
    assert [bytes(b) for b in buffers] == [b"cba", b"\x02\x01"]
    assert received == [({"n": 1}, [b"abc", b"\x01\x02"])]

    await client.send({"type": "update", "id": model_id, "state": {"data": None},
                       "buffer_paths": [["data"]], "seq": 2}, [b"\xffnew"])
    await async_wait_until(lambda: widgets["blob"].data == b"\xffnew")


# --- refused frames -------------------------------------------------------------------------


async def test_bad_frames_get_error_replies_and_the_session_carries_on(
        make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)

    bad_frames: list[str | bytes] = [
        "not json", "[]", "{}", json.dumps({"type": "nope"}),
        json.dumps({"type": "update", "id": widgets["counter"].model_id, "state": {},
                    "seq": True}),
        json.dumps({"type": "hello", "protocol": 1, "session": session.id}),
        b"\x05\x00\x00\x00garbage",
    ]
    for frame in bad_frames:
        await client.send_raw(frame)
        message = await client.message()
        assert message["type"] == "error" and message["code"] == "bad_frame", frame
        assert message["message"]

    seq = await client.update(widgets["button"].model_id, {"value": 1})
    message = await client.until("update")
    assert message["state"] == {"value": 1} and message["ack"] == seq
    assert session.alive


async def test_an_oversize_frame_is_refused_as_too_large(make_manager: Any,
                                                         connect: Any) -> None:
    manager = make_manager(max_message_bytes=1_000)
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)

    await client.update(widgets["counter"].model_id, {"value": 1, "pad": "x" * 2_000})
    message = await client.message()
    assert message["type"] == "error" and message["code"] == "too_large"
    assert widgets["counter"].value == 0

    await client.send({"type": "custom", "id": widgets["counter"].model_id, "content": {},
                       "seq": 9}, [b"\x00" * 2_000])
    message = await client.message()
    assert message["code"] == "too_large"


async def test_the_size_limit_counts_bytes_not_characters(make_manager: Any,
                                                          connect: Any) -> None:
    """`max_message_bytes` is in bytes: 600 'é' are 1 200 bytes of UTF-8 on the wire."""
    manager = make_manager(max_message_bytes=1_000)
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)

    await client.update(widgets["counter"].model_id, {"pad": "é" * 600})
    message = await client.message()
    assert message["type"] == "error" and message["code"] == "too_large", message


async def test_a_message_for_an_unknown_widget_gets_unknown_widget(make_manager: Any,
                                                                   connect: Any) -> None:
    manager = make_manager()
    session, _ = await start(manager)
    client = await joined(connect, manager, session)
    await client.update("not-a-widget-of-this-session", {"value": 1})
    message = await client.message()
    assert message["type"] == "error" and message["code"] == "unknown_widget"
    assert message["id"] == "not-a-widget-of-this-session"


async def test_a_widget_of_another_session_is_an_unknown_widget(make_manager: Any,
                                                                connect: Any) -> None:
    manager = make_manager()
    mine, _ = await start(manager)
    other, other_widgets = await start(manager)
    client = await joined(connect, manager, mine)
    await client.update(other_widgets["counter"].model_id, {"value": 5})
    message = await client.message()
    assert message["code"] == "unknown_widget"
    assert other_widgets["counter"].value == 0


async def test_an_invalid_value_gets_invalid_value_and_the_server_value(
        make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    model_id = widgets["counter"].model_id
    seq = await client.update(model_id, {"value": "seven"})
    error = await client.message()
    assert error["code"] == "invalid_value" and error["id"] == model_id
    restore = await client.message()
    assert restore == {"type": "update", "id": model_id, "state": {"value": 0},
                       "buffer_paths": [], "ack": seq}


async def test_an_invalid_value_is_named_never_echoed(make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    await client.update(widgets["counter"].model_id, {"value": "payload" * 2_000})
    error = await client.message()
    assert error["code"] == "invalid_value" and "value" in error["message"]
    assert "payload" not in error["message"] and len(error["message"]) < 300


def test_updates_are_small_by_default() -> None:
    """Most widget updates are a few bytes: a megabyte is ample, and parsing one is quick."""
    assert SessionLimits().max_message_bytes <= 1024 * 1024


async def test_the_rate_limit_counts_bytes_as_well_as_frames(make_manager: Any,
                                                            connect: Any) -> None:
    manager = make_manager(max_bytes_per_second=10_000)  # bursts of twice that pass
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    for n in range(10):
        await client.update(widgets["counter"].model_id, {"value": n + 1}, pad="x" * 5_000)
    await session.call(lambda: None)
    messages = await client.quiet(0.1)
    assert [m["code"] for m in messages if m["type"] == "error"][:1] == ["rate_limited"]
    assert widgets["counter"].value < 10  # the frames past the byte budget were dropped


async def test_a_connection_over_its_inbox_budget_is_closed_and_its_session_lives(
        make_manager: Any, connect: Any) -> None:
    manager = make_manager(max_inbox_bytes=20_000)
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    gate = threading.Event()
    session.worker.submit(gate.wait)  # a slow callback: what arrives now waits in the inbox
    try:
        with contextlib.suppress(Disconnected):  # the server may close before the last one
            for n in range(10):
                await client.update(widgets["counter"].model_id, {"value": n + 1},
                                    pad="x" * 5_000)
        code, _ = await client.closed()
        assert code == CloseCode.TOO_MUCH
    finally:
        gate.set()
    assert not session.closed
    await session.call(lambda: None)
    assert session.inbound == 0


async def test_flooding_gets_one_rate_limited_error(make_manager: Any, connect: Any) -> None:
    manager = make_manager(max_frames_per_second=1)  # bursts of two pass
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    for _ in range(30):
        await client.update(widgets["counter"].model_id, {"value": 1})
    await async_wait_until(lambda: widgets["counter"].value == 1)
    await session.call(lambda: None)
    messages = await client.quiet(0.1)
    assert [m["code"] for m in messages if m["type"] == "error"] == ["rate_limited"]


# --- sync ----------------------------------------------------------------------------------


async def test_synced_follows_everything_the_frames_before_the_sync_caused(
        make_manager: Any, connect: Any) -> None:
    def slow_button() -> dict[str, Any]:
        counter, button = Counter(), Counter()

        def clicked(change: Any) -> None:
            threading.Event().wait(0.05)  # a slow callback: the sync must wait for it
            counter.value += 1
        button.observe(clicked, "value")
        return {"counter": counter, "button": button}

    manager = make_manager()
    session, widgets = await start(manager, slow_button)
    client = await joined(connect, manager, session)
    for value in (1, 2, 3):
        await client.update(widgets["button"].model_id, {"value": value})
    await client.send({"type": "sync", "token": 41})
    seen = []
    while not seen or seen[-1]["type"] != "synced":
        seen.append(await client.message())
    assert seen[-1] == {"type": "synced", "token": 41}
    counted = [m["state"]["value"] for m in seen if m["type"] == "update"]
    assert counted and counted[-1] == 3, "all three clicks were answered before the sync"


async def test_a_sync_is_answered_even_over_the_rate_limit(make_manager: Any,
                                                           connect: Any) -> None:
    manager = make_manager(max_frames_per_second=1)
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    for _ in range(10):
        await client.update(widgets["counter"].model_id, {"value": 1})
    await client.send({"type": "sync", "token": 1})
    assert await client.until("synced") == {"type": "synced", "token": 1}


async def test_a_sync_without_a_token_is_a_bad_frame(make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, _ = await start(manager)
    client = await joined(connect, manager, session)
    await client.send({"type": "sync", "token": -1})
    error = await client.until("error")
    assert error["code"] == "bad_frame" and "token" in error["message"]


async def test_a_callback_error_reaches_the_client_as_an_error(make_manager: Any,
                                                              connect: Any) -> None:
    def run_app() -> dict[str, Any]:
        widget = Counter()

        def fail(change: Any) -> None:
            raise ZeroDivisionError("division by zero")

        widget.observe(fail, "value")
        return {"w": widget}

    manager = make_manager(dev=True)
    session, widgets = await start(manager, run_app)
    client = await joined(connect, manager, session)
    await client.update(widgets["w"].model_id, {"value": 1})
    message = await client.until("error")
    assert message["code"] == "callback_error"
    assert "ZeroDivisionError" in message["message"] and "Traceback" in message["traceback"]


# --- connections come and go ----------------------------------------------------------------


async def test_a_second_connection_replaces_the_first_with_4409(make_manager: Any,
                                                                 connect: Any) -> None:
    manager = make_manager()
    session, widgets = await start(manager)
    first = await joined(connect, manager, session)
    second = await joined(connect, manager, session)

    code, _ = await first.closed()
    assert code == CloseCode.REPLACED == 4409
    await asyncio.wait_for(first.task, 3)
    assert session.connection is not None

    seq = await second.update(widgets["button"].model_id, {"value": 1})
    message = await second.until("update")
    assert message["ack"] == seq
    assert session.alive


async def test_a_reconnect_within_the_grace_gets_the_full_state_again(
        make_manager: Any, connect: Any) -> None:
    manager = make_manager(grace=5)
    session, widgets = await start(manager)
    first = await joined(connect, manager, session)
    await first.update(widgets["button"].model_id, {"value": 1})
    await first.update(widgets["button"].model_id, {"value": 2})
    await first.until(lambda m: m.get("state", {}).get("value") == 2)

    await first.end.close()
    await asyncio.wait_for(first.task, 3)
    assert session.connection is None and not session.closed

    await session.call(lambda: setattr(widgets["counter"], "value", 3))  # while away
    second = await connect(manager, session.id)
    opens, ready = await second.snapshot()
    states = {m["id"]: m["state"] for m in opens}
    assert states[widgets["counter"].model_id]["value"] == 3
    assert states[widgets["button"].model_id]["value"] == 2
    assert ready["ack"] == 2
    assert await second.quiet() == [], "updates made while away are in the snapshot, once"


async def test_a_disconnected_session_expires_after_the_grace(make_manager: Any,
                                                              connect: Any) -> None:
    manager = make_manager(grace=5)  # generous until connected, however slow the machine
    session, _ = await start(manager)
    client = await joined(connect, manager, session)
    manager.limits.grace = 0.05
    await asyncio.sleep(0.15)  # connected: longer than the grace, and still alive
    assert not session.closed
    await client.end.close()
    await asyncio.wait_for(client.task, 3)
    await async_wait_until(lambda: session.closed)
    assert await join(session)

    late = await connect(manager, session.id)
    code, seen = await late.closed()
    assert code == 4404 and seen[0]["type"] == "session_lost"


async def test_closing_the_session_sends_session_lost(make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, _ = await start(manager)
    client = await joined(connect, manager, session)
    manager.close(session, "The app was restarted.")
    code, seen = await client.closed()
    assert code == 4404
    assert seen == [{"type": "session_lost", "reason": "The app was restarted."}]
    await asyncio.wait_for(client.task, 3)
    assert await join(session)


async def test_session_lost_is_sent_even_when_the_session_thread_ends_first(
        make_manager: Any, connect: Any) -> None:
    """The event loop may be busy (other sessions, shutdown) while a closed session's thread
    tears down; the browser must still be told."""
    manager = make_manager()
    session, _ = await start(manager)
    client = await joined(connect, manager, session)
    manager.close(session, "gone")
    assert session.join(3)  # the loop is blocked here: the thread finishes first
    code, seen = await client.closed()
    assert code == 4404
    assert [m["type"] for m in seen] == ["session_lost"]


async def test_server_shutdown_closes_with_going_away(make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    session, _ = await start(manager)
    client = await joined(connect, manager, session)
    manager.close_all()
    code, seen = await client.closed()
    assert code == CloseCode.GOING_AWAY == 1001
    assert seen[0]["type"] == "session_lost"


async def test_a_client_that_falls_behind_is_closed_with_4408(make_manager: Any,
                                                              connect: Any) -> None:
    manager = make_manager(max_pending=5)
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    for i in range(20):  # all at once, before the sender can take any
        session.outbox.put(Custom(type="custom", id=widgets["counter"].model_id, content=i))
    assert session.outbox.overflowed
    code, seen = await client.closed()
    assert code == CloseCode.TOO_SLOW == 4408
    assert [m["content"] for m in seen] == [0, 1, 2, 3, 4]
    await asyncio.wait_for(client.task, 3)
    assert session.alive and session.connection is None

    again = await connect(manager, session.id)
    await again.snapshot()
    assert not session.outbox.overflowed


async def test_a_vanished_client_is_noticed_by_the_sender(make_manager: Any,
                                                         connect: Any) -> None:
    manager = make_manager()
    session, widgets = await start(manager)
    client = await joined(connect, manager, session)
    client.end._in.close()  # noqa: SLF001 - the browser's side is gone without a close frame
    await session.call(lambda: setattr(widgets["counter"], "value", 1))
    await asyncio.wait_for(client.task, 3)
    assert session.connection is None and not session.closed


# --- encoding outbox messages ---------------------------------------------------------------


def test_values_json_cannot_carry_are_sent_in_a_safe_form() -> None:
    update = Update(type="update", id="w", state={"x": float("nan"), "when": object(),
                                                  "raw": b"\x01"}, buffer_paths=[], ack=1)
    message, buffers = decode(encode_message(update))
    assert message["state"]["x"] is None
    assert isinstance(message["state"]["when"], str)
    assert message["buffer_paths"] == [["raw"]] and bytes(buffers[0]) == b"\x01", (
        "binary values still travel as buffers")


def test_each_message_type_has_its_wire_form() -> None:
    assert decode(encode_message(Close(type="close", id="w")))[0] == {"type": "close", "id": "w"}
    assert decode(encode_message(Open(type="open", id="w", state={"v": 1}, buffer_paths=[],
                                      ack=4)))[0] == {
        "type": "open", "id": "w", "state": {"v": 1}, "buffer_paths": [], "ack": 4}
    error = Error(type="error", code="bad_frame", message="m")
    assert decode(encode_message(error))[0] == {"type": "error", "code": "bad_frame",
                                                "message": "m"}
