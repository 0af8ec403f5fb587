"""A session: its thread, how it applies what the browser sends, and what it publishes."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import weakref
from typing import Any

import anywidget
import ipywidgets
import pytest
import traitlets
from ipywidgets.widgets.widget import _instances

from numerous.apps._comm import SessionComm
from numerous.apps._protocol import ClientCustom, ClientUpdate, CloseCode, Error, ServerMessage
from numerous.apps._session import AppError, Session

from ._support import OWNER, join

ESM = "export default { render() {} }"


class Counter(anywidget.AnyWidget):
    _esm = ESM
    _css = ".counter { color: red }"
    value = traitlets.Int(0).tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    _secret = traitlets.Unicode("server-only").tag(sync=True)


def update(widget: ipywidgets.Widget, state: dict[str, Any], seq: int = 1) -> ClientUpdate:
    return ClientUpdate(type="update", id=widget.model_id, state=state, seq=seq)


async def settle(session: Session) -> None:
    """Wait until every job posted so far has run (jobs run one at a time, in order)."""
    await session.call(lambda: None)


async def drained(session: Session) -> list[Any]:
    """The messages the outbox holds once every job has run (their buffers left out)."""
    await settle(session)
    return [message for message, _ in session.outbox.take()]


def only(entries: list[ServerMessage], kind: str) -> list[Any]:
    return [e for e in entries if e["type"] == kind]


# --- building -------------------------------------------------------------------------------


async def test_run_app_and_every_callback_run_on_a_session_thread(make_session: Any) -> None:
    threads: dict[str, int] = {}
    names: set[str] = set()

    def note(what: str) -> None:
        threads.setdefault(what, threading.get_ident())
        names.add(threading.current_thread().name)

    def run_app() -> dict[str, Any]:
        note("run_app")
        counter = Counter()
        counter.observe(lambda change: note("observer"), "value")
        counter.on_msg(lambda w, c, b: note("on_msg"))
        return {"counter": counter}

    session, widgets = await make_session(run_app)
    counter = widgets["counter"]
    session.post(update(counter, {"value": 1}))
    session.post(ClientCustom(type="custom", id=counter.model_id, content={}, seq=2, buffers=[]))
    await settle(session)

    assert set(threads) == {"run_app", "observer", "on_msg"}
    assert threading.get_ident() not in threads.values(), "never on the event loop's thread"
    assert all(name.startswith("numerous-session-") for name in names), names


async def test_widgets_of_run_app_belong_to_the_session(make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"a": Counter(), "b": Counter()})
    for widget in widgets.values():
        assert isinstance(widget.comm, SessionComm)
        assert widget.model_id in session.comms
        assert widget.layout.model_id in session.comms
    assert session.widgets == widgets


async def test_open_entries_carry_asset_urls_instead_of_code(make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"a": Counter()}, base="/app1")
    entries = await drained(session)
    opens = {e["id"]: e for e in only(entries, "open")}
    state = opens[widgets["a"].model_id]["state"]
    assert state["_esm"].startswith("/app1/numerous/assets/") and state["_esm"].endswith(".js")
    assert state["_css"].startswith("/app1/numerous/assets/") and state["_css"].endswith(".css")
    assert ESM not in str(state)
    assert widgets["a"]._esm == ESM, "the widget itself is unchanged"  # noqa: SLF001


async def test_urls_given_by_the_widget_are_left_alone(make_session: Any) -> None:
    class Remote(anywidget.AnyWidget):
        _esm = "https://cdn.example.com/widget.js"

    session, widgets = await make_session(lambda: {"r": Remote()})
    entries = await drained(session)
    (entry,) = [e for e in entries if e["id"] == widgets["r"].model_id]
    assert entry["state"]["_esm"] == "https://cdn.example.com/widget.js"


async def test_an_error_in_run_app_is_an_app_error_with_the_traceback(make_session: Any) -> None:
    def run_app() -> dict[str, Any]:
        raise ValueError("no database")

    with pytest.raises(AppError) as caught:
        await make_session(run_app)
    assert "ValueError: no database" in str(caught.value)
    assert "Traceback" in caught.value.detail and "no database" in caught.value.detail


@pytest.mark.parametrize(
    ("result", "needle"),
    [
        pytest.param(lambda: [Counter()], "dict", id="not-a-dict"),
        pytest.param(lambda: {"x": 1, "y": "text"}, "x, y", id="not-widgets"),
    ],
)
async def test_run_app_must_return_a_dict_of_widgets(make_session: Any, result: Any,
                                                     needle: str) -> None:
    with pytest.raises(AppError) as caught:
        await make_session(result)
    assert needle in str(caught.value)


async def test_widgets_created_outside_the_session_are_refused(make_session: Any) -> None:
    stray = Counter()  # made on this thread: not bound to any session
    try:
        with pytest.raises(AppError) as caught:
            await make_session(lambda: {"stray": stray})
        assert "stray" in str(caught.value)
    finally:
        stray.layout.close()
        stray.close()


async def test_a_widget_created_in_a_callback_belongs_to_the_session(make_session: Any) -> None:
    made: list[Counter] = []

    def run_app() -> dict[str, Any]:
        button = Counter()
        button.observe(lambda change: made.append(Counter(value=change["new"])), "value")
        return {"button": button}

    session, widgets = await make_session(run_app)
    session.outbox.take()
    session.post(update(widgets["button"], {"value": 4}))
    entries = await drained(session)
    (child,) = made
    assert child.model_id in session.comms
    assert child.model_id in {e["id"] for e in only(entries, "open")}


async def test_current_session_and_user_inside_and_outside_the_session(
        make_session: Any) -> None:
    from numerous.apps import current_session, current_user

    seen: dict[str, Any] = {}

    def run_app() -> dict[str, Any]:
        seen["session"] = current_session()
        seen["user"] = current_user()
        return {}

    session, _ = await make_session(run_app)
    assert seen["session"] is session
    assert seen["user"] is None
    assert current_session() is None and current_user() is None


# --- updates from the browser ---------------------------------------------------------------


async def test_a_callbacks_change_comes_back_with_ack_of_the_handled_seq(
        make_session: Any) -> None:
    def run_app() -> dict[str, Any]:
        source, target = Counter(), Counter()
        source.observe(lambda change: setattr(target, "value", change["new"] * 10), "value")
        return {"source": source, "target": target}

    session, widgets = await make_session(run_app)
    session.outbox.take()
    session.post(update(widgets["source"], {"value": 4}, seq=17))
    entries = await drained(session)

    assert widgets["source"].value == 4
    (entry,) = only(entries, "update")
    assert entry["id"] == widgets["target"].model_id
    assert entry["state"] == {"value": 40}
    assert entry["ack"] == 17
    assert session.current_seq == 17


# numerous-widgets 0.3's Button passes `fit_to_content` on to traitlets, which warns about it.
numerous_widgets_warning = pytest.mark.filterwarnings(
    "ignore:Passing unrecognized arguments:DeprecationWarning")


@numerous_widgets_warning
async def test_a_button_click_from_the_browser_runs_on_click(make_session: Any) -> None:
    import numerous.widgets as wi

    def run_app() -> dict[str, Any]:
        counter = wi.Number(default=0, label="Counter:")

        def on_click(event: Any) -> None:
            counter.value += 1

        return {"counter": counter, "button": wi.Button(label="Click me", on_click=on_click)}

    session, widgets = await make_session(run_app)
    session.outbox.take()
    session.post(update(widgets["button"], {"clicked": 1}, seq=1))
    session.post(update(widgets["button"], {"clicked": 2}, seq=2))
    entries = await drained(session)

    assert widgets["counter"].value == 2
    counter_updates = [e for e in only(entries, "update") if e["id"] == widgets["counter"].model_id]
    assert counter_updates and counter_updates[-1]["state"]["value"] == 2
    assert counter_updates[-1]["ack"] == 2


async def test_echo_updates_are_not_queued(make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"c": Counter()})
    session.outbox.take()
    session.post(update(widgets["c"], {"value": 3, "label": "typed"}))
    assert await drained(session) == []
    assert widgets["c"].value == 3 and widgets["c"].label == "typed"

    session.worker.publish(widgets["c"].model_id, "comm_msg",
                           {"method": "echo_update", "state": {"value": 3}, "buffer_paths": []},
                           None)
    assert len(session.outbox) == 0


async def test_a_callback_that_changes_the_sent_trait_sends_the_new_value(
        make_session: Any) -> None:
    def run_app() -> dict[str, Any]:
        counter = Counter()

        def clamp(change: Any) -> None:
            if change["new"] > 10:
                counter.value = 10

        counter.observe(clamp, "value")
        return {"c": counter}

    session, widgets = await make_session(run_app)
    session.outbox.take()
    session.post(update(widgets["c"], {"value": 99}, seq=5))
    entries = await drained(session)
    (entry,) = only(entries, "update")
    assert entry["state"] == {"value": 10} and entry["ack"] == 5


async def test_a_callback_error_is_logged_and_reported_without_details(
        make_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    def run_app() -> dict[str, Any]:
        counter = Counter()

        def explode(change: Any) -> None:
            raise RuntimeError("secret internals")

        counter.observe(explode, "value")
        return {"c": counter}

    session, widgets = await make_session(run_app, dev=False)
    session.outbox.take()
    with caplog.at_level(logging.ERROR, logger="numerous.apps"):
        session.post(update(widgets["c"], {"value": 1}))
        entries = await drained(session)

    (error,) = only(entries, "error")
    assert error["code"] == "callback_error"
    assert "traceback" not in error
    assert "secret internals" not in error["message"]
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and "secret internals" in str(logged[0].exc_info[1])


async def test_a_callback_error_in_dev_mode_carries_message_and_traceback(
        make_session: Any) -> None:
    def run_app() -> dict[str, Any]:
        counter = Counter()

        def explode(change: Any) -> None:
            raise RuntimeError("kaboom")

        counter.observe(explode, "value")
        return {"c": counter}

    session, widgets = await make_session(run_app, dev=True)
    session.outbox.take()
    session.post(update(widgets["c"], {"value": 1}))
    (error,) = only(await drained(session), "error")
    assert error["code"] == "callback_error"
    assert "RuntimeError: kaboom" in error["message"]
    assert "Traceback" in error["traceback"]
    assert "explode" in error["traceback"]


async def test_the_session_keeps_working_after_a_callback_error(make_session: Any) -> None:
    def run_app() -> dict[str, Any]:
        counter, echo = Counter(), Counter()

        def on_value(change: Any) -> None:
            if change["new"] == 1:
                raise RuntimeError("first one fails")
            echo.value = change["new"]

        counter.observe(on_value, "value")
        return {"c": counter, "echo": echo}

    session, widgets = await make_session(run_app)
    session.outbox.take()
    session.post(update(widgets["c"], {"value": 1}, seq=1))
    session.post(update(widgets["c"], {"value": 2}, seq=2))
    entries = await drained(session)
    assert [e["type"] for e in entries] == ["error", "update"]
    assert entries[1]["id"] == widgets["echo"].model_id and entries[1]["state"] == {"value": 2}
    assert session.alive


async def test_a_trait_error_raised_inside_a_callback_is_a_callback_error(
        make_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The browser's value was fine; the app's own code failed, so it is not invalid_value."""

    def run_app() -> dict[str, Any]:
        source, target = Counter(), Counter()
        source.observe(lambda change: setattr(target, "value", "oops"), "value")  # app bug
        return {"source": source, "target": target}

    session, widgets = await make_session(run_app, dev=True)
    session.outbox.take()
    with caplog.at_level(logging.ERROR, logger="numerous.apps"):
        session.post(update(widgets["source"], {"value": 5}))
        entries = await drained(session)

    assert widgets["source"].value == 5, "the browser's value was accepted"
    errors = only(entries, "error")
    assert [e["code"] for e in errors] == ["callback_error"]
    assert "Traceback" in errors[0]["traceback"]
    assert any(r.exc_info for r in caplog.records), "the app's error is logged"


async def test_a_refused_value_gives_invalid_value_then_the_server_value(
        make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"c": Counter(value=7)})
    session.outbox.take()
    session.post(update(widgets["c"], {"value": "not a number"}, seq=3))
    entries = await drained(session)

    assert [e["type"] for e in entries] == ["error", "update"]
    assert entries[0]["code"] == "invalid_value"
    assert entries[0]["id"] == widgets["c"].model_id
    assert entries[1]["id"] == widgets["c"].model_id
    assert entries[1]["state"] == {"value": 7}
    assert widgets["c"].value == 7


async def test_a_refused_value_rolls_back_the_other_traits_of_the_update(
        make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"c": Counter(value=7, label="old")})
    session.outbox.take()
    session.post(update(widgets["c"], {"label": "new", "value": "bad"}))
    entries = await drained(session)
    assert widgets["c"].label == "old"
    assert only(entries, "update")[-1]["state"] == {"label": "old", "value": 7}


@pytest.mark.parametrize(
    "state",
    [
        pytest.param({"_esm": "export default { render() { alert(1) } }"}, id="_esm"),
        pytest.param({"_model_name": "EvilModel"}, id="model-identity"),
        pytest.param({"_view_module": "evil"}, id="view-identity"),
        pytest.param({"_anywidget_id": "evil"}, id="anywidget-identity"),
        pytest.param({"comm": None}, id="unsynced-trait"),
        pytest.param({"value": 3, "_css": "body{}"}, id="mixed"),
    ],
)
async def test_code_identity_and_unknown_traits_cannot_be_set(make_session: Any,
                                                        state: dict[str, Any]) -> None:
    session, widgets = await make_session(lambda: {"c": Counter()})
    widget = widgets["c"]
    session.outbox.take()
    session.post(update(widget, state))
    entries = await drained(session)

    (error,) = only(entries, "error")
    assert error["code"] == "invalid_value"
    assert widget._esm == ESM and widget._secret == "server-only"  # noqa: SLF001
    assert widget.value == 0, "nothing of a refused update is applied"
    assert not hasattr(widget, "no_such_trait")


async def test_synced_private_traits_can_be_set(make_session: Any) -> None:
    """Widgets talk back through them: Plotly's FigureWidget sends `_js2py_restyle`."""
    session, widgets = await make_session(lambda: {"c": Counter()})
    widget = widgets["c"]
    session.outbox.take()
    session.post(update(widget, {"_secret": "from the browser", "value": 2}))
    entries = await drained(session)
    assert only(entries, "error") == []
    assert widget._secret == "from the browser" and widget.value == 2  # noqa: SLF001


async def test_names_that_are_no_trait_are_dropped_as_ipywidgets_drops_them(
        make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"c": Counter()})
    widget = widgets["c"]
    session.outbox.take()
    session.post(update(widget, {"no_such_trait": 1, "value": 4}))
    entries = await drained(session)
    assert only(entries, "error") == []
    assert widget.value == 4 and not hasattr(widget, "no_such_trait")


async def test_a_message_for_a_widget_of_no_session_is_refused(make_session: Any) -> None:
    session, _ = await make_session(lambda: {"c": Counter()})
    session.outbox.take()
    session.post(ClientUpdate(type="update", id="f" * 32, state={"value": 1}, seq=1))
    (error,) = await drained(session)
    assert error["type"] == "error" and error["code"] == "unknown_widget"


async def test_a_widget_of_another_session_cannot_be_reached(make_session: Any) -> None:
    first, first_widgets = await make_session(lambda: {"c": Counter()})
    second, _ = await make_session(lambda: {"c": Counter()})
    second.outbox.take()
    second.post(update(first_widgets["c"], {"value": 5}))
    (error,) = await drained(second)
    assert error["code"] == "unknown_widget"
    assert first_widgets["c"].value == 0


# --- custom messages --------------------------------------------------------------------------


async def test_custom_messages_with_buffers_reach_on_msg_handlers(make_session: Any) -> None:
    received: list[tuple[Any, Any, list[bytes]]] = []

    def run_app() -> dict[str, Any]:
        widget = Counter()
        widget.on_msg(lambda w, content, buffers: received.append(
            (w, content, [bytes(b) for b in buffers])))
        return {"w": widget}

    session, widgets = await make_session(run_app)
    session.post(ClientCustom(type="custom", id=widgets["w"].model_id, content={"op": "load"},
                              seq=1, buffers=[memoryview(b"\x00\x01"), memoryview(b"abc")]))
    await settle(session)
    assert received == [(widgets["w"], {"op": "load"}, [b"\x00\x01", b"abc"])]


async def test_an_on_msg_handler_error_is_a_callback_error(make_session: Any) -> None:
    def run_app() -> dict[str, Any]:
        widget = Counter()

        def handler(w: Any, content: Any, buffers: Any) -> None:
            raise KeyError("missing")

        widget.on_msg(handler)
        return {"w": widget}

    session, widgets = await make_session(run_app)
    session.outbox.take()
    session.post(ClientCustom(type="custom", id=widgets["w"].model_id, content=1, seq=1,
                              buffers=[]))
    (error,) = await drained(session)
    assert error["code"] == "callback_error"


async def test_widget_send_produces_a_custom_entry_with_buffers(make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"w": Counter()})
    session.outbox.take()
    await session.call(lambda: widgets["w"].send({"chunk": 1}, [b"\x01\x02", b"\x03"]))
    ((entry, buffers),) = session.outbox.take()
    assert entry["type"] == "custom" and entry["id"] == widgets["w"].model_id
    assert entry["content"] == {"chunk": 1}
    assert [bytes(b) for b in buffers] == [b"\x01\x02", b"\x03"]


async def test_binary_traits_keep_their_bytes_in_the_outgoing_state(make_session: Any) -> None:
    class Image(anywidget.AnyWidget):
        _esm = ESM
        data = traitlets.Bytes(b"").tag(sync=True)

    session, widgets = await make_session(lambda: {"img": Image()})
    session.outbox.take()
    await session.call(lambda: setattr(widgets["img"], "data", b"\x89PNG"))
    ((entry, _),) = session.outbox.take()
    assert entry["state"] == {"data": b"\x89PNG"}


# --- snapshot and close ---------------------------------------------------------------------


async def test_the_snapshot_opens_every_widget_in_creation_order(make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"a": Counter(value=1), "b": Counter()})
    await session.call(lambda: setattr(widgets["a"], "value", 5))
    await session.call(lambda: widgets["b"].send("kept"))
    session.outbox.put(Error(type="error", code="callback_error", message="kept"))

    entries = await session.call(session.snapshot)

    assert [e["id"] for e in entries] == list(session.comms)
    assert all(e["type"] == "open" for e in entries)
    states = {e["id"]: e["state"] for e in entries}
    assert states[widgets["a"].model_id]["value"] == 5
    # What the snapshot replaces (the update) is dropped; custom messages of live widgets and
    # errors (a timer's before the page connected) are kept.
    assert [e["type"] for e, _ in session.outbox.take()] == ["custom", "error"]


async def test_a_layout_opens_with_only_the_traits_it_sets(make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"a": Counter(), "b": Counter()})
    await session.call(lambda: setattr(widgets["b"].layout, "width", "50%"))
    states = {e["id"]: e["state"] for e in await session.call(session.snapshot)}
    plain, sized = states[widgets["a"].layout.model_id], states[widgets["b"].layout.model_id]
    assert plain["_model_name"] == sized["_model_name"] == "LayoutModel"
    assert None not in plain.values() and "width" not in plain
    assert sized["width"] == "50%"
    assert len(json.dumps(plain)) < 300, "the browser defaults the other 40 traits to null"
    counter = states[widgets["a"].model_id]
    assert "tooltip" in counter and counter["tooltip"] is None, "a widget's own nulls stay"

    later = await session.call(lambda: Counter())  # opened after the snapshot: same rule
    opened = {e["id"]: e["state"] for e, _ in session.outbox.take() if e["type"] == "open"}
    assert None not in opened[later.layout.model_id].values()


async def test_close_closes_every_widget_and_ends_the_thread(make_session: Any) -> None:
    session, widgets = await make_session(lambda: {"a": Counter(), "b": Counter()})
    ids = list(session.comms)
    assert len(ids) == 4  # two widgets and their layouts
    session.close("bye", CloseCode.GOING_AWAY)
    assert await join(session)

    assert not session.alive and session.closed
    assert not any(model_id in _instances for model_id in ids)
    assert all(widget.comm is None for widget in widgets.values())
    assert session.comms == {} and session.widgets == {}
    with pytest.raises(RuntimeError):
        await session.call(lambda: None)


async def test_on_close_callbacks_run_once_on_the_loop_and_their_errors_are_logged(
        make_session: Any, caplog: pytest.LogCaptureFixture) -> None:
    session, _ = await make_session(lambda: {})
    loop_thread = threading.get_ident()
    calls: list[Any] = []
    session.on_close(lambda: calls.append(threading.get_ident()))
    session.on_close(lambda: 1 / 0)
    session.on_close(lambda: calls.append("after a failing one"))
    with caplog.at_level(logging.ERROR, logger="numerous.apps"):
        session.close()
        session.close()
    assert calls == [loop_thread, "after a failing one"]
    assert "ZeroDivisionError" in caplog.text and "on_close" in caplog.text

    session.on_close(lambda: calls.append("late"))  # the session has closed: soon, once
    await asyncio.sleep(0)
    assert calls[-1] == "late"


async def test_close_is_idempotent(make_session: Any) -> None:
    session, _ = await make_session(lambda: {})
    session.close()
    session.close()
    assert await join(session)


async def test_a_closed_session_can_be_garbage_collected() -> None:
    async def run_and_close() -> weakref.ref[Session]:
        session = Session("gc-test", OWNER, base="", dev=False, loop=asyncio.get_running_loop())
        first = (await session.start(lambda: {"a": Counter(), "b": Counter()}))["a"]
        await session.call(lambda: first.send("x", [b"\x00"]))
        session.close()
        assert await join(session)
        return weakref.ref(session)

    ref = await run_and_close()
    gc.collect()
    assert ref() is None, gc.get_referrers(ref())


async def test_classic_widgets_follow_the_same_rules(make_session: Any) -> None:
    """An ipywidgets box cannot take another session's slider; its own slider's value is set."""
    first, first_widgets = await make_session(lambda: {"s": ipywidgets.IntSlider()})
    second, widgets = await make_session(
        lambda: {"box": ipywidgets.HBox(), "s": ipywidgets.IntSlider()})
    second.outbox.take()
    foreign = f"IPY_MODEL_{first_widgets['s'].model_id}"
    second.post(update(widgets["box"], {"children": [foreign]}))
    second.post(update(widgets["s"], {"value": 7}, seq=2))
    entries = await drained(second)
    (error,) = only(entries, "error")
    assert error["code"] == "invalid_value"
    assert widgets["box"].children == () and widgets["s"].value == 7
