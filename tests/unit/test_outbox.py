"""The outbox: coalescing per widget, the bound on what cannot merge, and the wake-up."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio
import pytest

from numerous.apps import _outbox
from numerous.apps._outbox import Outbox
from numerous.apps._protocol import Close, Custom, Error, ServerMessage


def kinds(entries: list[Any]) -> list[tuple[str, str]]:
    return [(e["type"], e.get("id", "")) for e in entries]


def take(outbox: Outbox) -> list[Any]:
    """The messages taken, without their buffers."""
    return [message for message, _ in outbox.take()]


def custom(model_id: str, content: Any) -> Custom:
    return Custom(type="custom", id=model_id, content=content)


def error(n: int = 0) -> Error:
    return Error(type="error", code="bad_frame", message=str(n))


def close(model_id: str) -> ServerMessage:
    return Close(type="close", id=model_id)


def test_updates_to_one_widget_coalesce_into_one_entry() -> None:
    outbox = Outbox()
    for i in range(10_000):
        outbox.put_state("update", "w", {"value": i}, ack=i % 50)
    assert len(outbox) == 1
    (entry,) = take(outbox)
    assert entry["type"] == "update"
    assert entry["state"] == {"value": 9_999}
    assert entry["ack"] == 49


def test_coalescing_merges_traits_and_keeps_the_latest_of_each() -> None:
    outbox = Outbox()
    outbox.put_state("update", "w", {"a": 1, "b": 1}, ack=5)
    outbox.put_state("update", "w", {"b": 2, "c": 3}, ack=2)
    (entry,) = take(outbox)
    assert entry["state"] == {"a": 1, "b": 2, "c": 3}
    assert entry["ack"] == 5, "ack is the max, never goes back"


def test_a_private_trait_set_again_is_delivered_each_time_in_order() -> None:
    """Plotly's FigureWidget sets `_py2js_relayout` to a message, then back to None."""
    outbox = Outbox()
    outbox.put_state("update", "w", {"_py2js_relayout": {"title": "t"}, "value": 1}, ack=1)
    outbox.put_state("update", "w", {"_py2js_relayout": None}, ack=1)
    outbox.put_state("update", "w", {"value": 2}, ack=1)
    states = [entry["state"] for entry in take(outbox)]
    assert states == [{"_py2js_relayout": {"title": "t"}, "value": 1},
                      {"_py2js_relayout": None, "value": 2}]


def test_private_traits_set_again_count_against_the_bound() -> None:
    outbox = Outbox(max_pending=3)
    for i in range(5):
        outbox.put_state("update", "w", {"_msg": i}, ack=0)
    assert outbox.overflowed and outbox.dropped == 1


def test_the_callers_state_dict_is_not_modified_by_merging() -> None:
    outbox = Outbox()
    first = {"a": 1}
    outbox.put_state("update", "w", first, ack=0)
    outbox.put_state("update", "w", {"a": 2}, ack=0)
    assert first == {"a": 1}


def test_updates_of_different_widgets_stay_separate_and_in_order() -> None:
    outbox = Outbox()
    outbox.put_state("update", "a", {"v": 1}, ack=0)
    outbox.put_state("update", "b", {"v": 1}, ack=0)
    outbox.put_state("update", "a", {"v": 2}, ack=0)
    entries = take(outbox)
    assert kinds(entries) == [("update", "a"), ("update", "b")]
    assert entries[0]["state"] == {"v": 2}


def test_an_update_merges_into_a_waiting_open() -> None:
    outbox = Outbox()
    outbox.put_state("open", "w", {"v": 0, "label": "x"}, ack=0)
    outbox.put_state("update", "w", {"v": 7}, ack=3)
    (entry,) = take(outbox)
    assert entry["type"] == "open"
    assert entry["state"] == {"v": 7, "label": "x"}


def test_an_intervening_custom_message_stops_merging() -> None:
    outbox = Outbox()
    outbox.put_state("update", "w", {"v": 1}, ack=0)
    outbox.put(custom("w", "between"))
    outbox.put_state("update", "w", {"v": 2}, ack=0)
    outbox.put_state("update", "w", {"v": 3}, ack=0)
    entries = take(outbox)
    assert kinds(entries) == [("update", "w"), ("custom", "w"), ("update", "w")]
    assert entries[0]["state"] == {"v": 1}
    assert entries[2]["state"] == {"v": 3}


def test_a_close_message_stops_merging_too() -> None:
    outbox = Outbox()
    outbox.put_state("update", "w", {"v": 1}, ack=0)
    outbox.put(close("w"))
    outbox.put_state("update", "w", {"v": 2}, ack=0)
    assert kinds(take(outbox)) == [("update", "w"), ("close", "w"), ("update", "w")]


def test_nothing_merges_across_a_take() -> None:
    outbox = Outbox()
    outbox.put_state("update", "w", {"v": 1}, ack=0)
    taken = take(outbox)
    outbox.put_state("update", "w", {"v": 2}, ack=0)
    assert taken[0]["state"] == {"v": 1}
    assert take(outbox)[0]["state"] == {"v": 2}


def test_the_bound_on_unmergeable_entries_sets_overflowed_and_drops() -> None:
    outbox = Outbox(max_pending=3)
    for i in range(5):
        outbox.put(error(i))
    assert outbox.overflowed
    assert outbox.dropped == 2
    assert [e["message"] for e in take(outbox)] == ["0", "1", "2"]


def test_mergeable_updates_do_not_count_against_the_bound() -> None:
    outbox = Outbox(max_pending=2)
    for i in range(100):
        outbox.put_state("update", f"w{i}", {"v": i}, ack=0)
    outbox.put(custom("w0", 1))
    assert not outbox.overflowed
    assert len(outbox) == 101


def test_force_bypasses_the_bound() -> None:
    outbox = Outbox(max_pending=1)
    outbox.put(error(0))
    outbox.put(error(1))
    assert outbox.overflowed
    outbox.end("bye", 4404)
    assert [e["type"] for e in take(outbox)] == ["error", "session_lost"]


def test_take_starts_the_count_again() -> None:
    outbox = Outbox(max_pending=2)
    outbox.put(error())
    outbox.put(error())
    outbox.take()
    outbox.put(error())
    outbox.put(error())
    assert not outbox.overflowed
    assert len(outbox) == 2


def test_reset_drops_what_a_snapshot_replaces_and_keeps_the_rest() -> None:
    outbox = Outbox(max_pending=3)
    outbox.put_state("open", "live", {"v": 0}, ack=0)
    outbox.put(custom("live", "keep"))
    outbox.put(custom("gone", "drop"))
    outbox.put(error())
    outbox.put_state("update", "live", {"v": 1}, ack=0)
    outbox.put(close("gone"))  # over the bound
    assert outbox.overflowed

    outbox.reset({"live"})

    assert not outbox.overflowed
    entries = take(outbox)
    # States and closes are in the snapshot; a custom message to a widget that is gone has no
    # reader; the error still has something to say.
    assert kinds(entries) == [("custom", "live"), ("error", "")]
    assert entries[0]["content"] == "keep"


def test_after_reset_updates_start_a_new_entry_after_the_kept_customs() -> None:
    outbox = Outbox()
    outbox.put_state("update", "w", {"v": 1}, ack=0)
    outbox.put(custom("w", 1))
    outbox.reset({"w"})
    outbox.put_state("update", "w", {"v": 2}, ack=0)
    assert kinds(take(outbox)) == [("custom", "w"), ("update", "w")]


async def test_the_wake_up_is_poked_only_when_the_outbox_becomes_non_empty(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pokes: list[Any] = []
    real_notify = _outbox.notify

    def counting_notify(loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> None:
        pokes.append(fn)
        real_notify(loop, fn, *args)

    monkeypatch.setattr(_outbox, "notify", counting_notify)
    outbox = Outbox()
    wake = outbox.listen(asyncio.get_running_loop())
    try:
        outbox.put_state("update", "a", {"v": 1}, ack=0)
        outbox.put_state("update", "a", {"v": 2}, ack=0)
        outbox.put_state("update", "b", {"v": 1}, ack=0)
        outbox.put(custom("a", 1))
        assert len(pokes) == 1

        with anyio.fail_after(2):
            await wake.receive()
        assert len(outbox.take()) == 3
        with pytest.raises(anyio.WouldBlock):
            wake.receive_nowait()

        outbox.put(error())
        assert len(pokes) == 2
        with anyio.fail_after(2):
            await wake.receive()
    finally:
        outbox.unlisten(wake)


async def test_listen_pokes_at_once_when_entries_are_waiting() -> None:
    outbox = Outbox()
    outbox.put_state("open", "w", {}, ack=0)
    wake = outbox.listen(asyncio.get_running_loop())
    try:
        wake.receive_nowait()
    finally:
        outbox.unlisten(wake)


async def test_producers_on_other_threads_wake_the_loop() -> None:
    outbox = Outbox()
    wake = outbox.listen(asyncio.get_running_loop())
    try:
        thread = threading.Thread(target=lambda: outbox.put_state("update", "w", {"v": 1}, 0))
        thread.start()
        with anyio.fail_after(2):
            await wake.receive()
        thread.join()
        assert kinds(take(outbox)) == [("update", "w")]
    finally:
        outbox.unlisten(wake)


async def test_a_new_listener_replaces_the_old_one() -> None:
    outbox = Outbox()
    loop = asyncio.get_running_loop()
    first = outbox.listen(loop)
    second = outbox.listen(loop)
    try:
        # The old stream ends, so a sender task iterating it finishes.
        with anyio.fail_after(2):
            assert [item async for item in first] == []
        outbox.unlisten(first)  # unlistening the old one leaves the new one in place
        outbox.put(error())
        with anyio.fail_after(2):
            await second.receive()
    finally:
        outbox.unlisten(first)
        outbox.unlisten(second)


async def test_nobody_is_poked_after_unlisten() -> None:
    outbox = Outbox()
    wake = outbox.listen(asyncio.get_running_loop())
    outbox.unlisten(wake)
    outbox.put(error())  # must not raise
    await asyncio.sleep(0)
    assert len(outbox) == 1


def test_concurrent_producers_lose_nothing() -> None:
    outbox = Outbox(max_pending=1_000_000)

    def produce(name: str) -> None:
        for i in range(2_000):
            outbox.put_state("update", name, {"v": i}, ack=i)
            outbox.put(custom(name, i))

    threads = [threading.Thread(target=produce, args=(f"w{n}",)) for n in range(4)]
    taken: list[Any] = []
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        taken.extend(take(outbox))
    for thread in threads:
        thread.join()
    taken.extend(take(outbox))
    for n in range(4):
        customs = [e["content"] for e in taken if e["type"] == "custom" and e["id"] == f"w{n}"]
        assert customs == list(range(2_000))
        last_update = [e for e in taken if e["type"] == "update" and e["id"] == f"w{n}"][-1]
        assert last_update["state"] == {"v": 1_999}
