"""Sessions under abuse: stuck callbacks, many sessions opened and closed."""

from __future__ import annotations

import asyncio
import gc
import re
import threading
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import pytest
import traitlets

from numerous.apps import _comm, _pool
from numerous.apps._connection import memory_pair
from numerous.apps._protocol import PROTOCOL_VERSION, decode, encode
from numerous.apps._sessions import SessionLimits, SessionManager, release_free_memory
from numerous.apps._socket import serve_connection

OWNER = "r" * 32


class Clicker(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    clicked = traitlets.Int(0).tag(sync=True)
    value = traitlets.Int(0).tag(sync=True)


@pytest.fixture(autouse=True)
def _routed() -> None:
    _comm.install()


async def _connect(manager: SessionManager, session: Any) -> Any:
    client, server = memory_pair()
    task = asyncio.ensure_future(serve_connection(server, manager, OWNER))
    await client.send(encode({"type": "hello", "protocol": PROTOCOL_VERSION,
                              "session": session.id}))
    while decode(await client.receive())[0]["type"] != "ready":
        pass
    return client, task


async def _next(client: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            message = decode(await client.receive())[0]
            if message["type"] == kind:
                return message


async def test_a_stuck_session_harms_no_other_and_can_be_ended() -> None:
    release = threading.Event()
    manager = SessionManager(SessionLimits())

    def stuck_app() -> dict[str, Any]:
        widget = Clicker()
        widget.observe(lambda change: release.wait(), names="clicked")  # never returns alone
        return {"w": widget}

    def healthy_app() -> dict[str, Any]:
        widget = Clicker()
        widget.observe(lambda change: setattr(widget, "value", widget.value + 1), names="clicked")
        return {"w": widget}

    stuck, built = manager.create(stuck_app, owner=OWNER, base="")
    stuck_widget = (await built)["w"]
    healthy, built = manager.create(healthy_app, owner=OWNER, base="")
    healthy_widget = (await built)["w"]
    stuck_client, stuck_task = await _connect(manager, stuck)
    healthy_client, healthy_task = await _connect(manager, healthy)
    try:
        await stuck_client.send(encode({"type": "update", "id": stuck_widget.model_id,
                                        "state": {"clicked": 1}, "seq": 1}))
        await asyncio.sleep(0.05)
        for n in range(1, 4):  # the other session is not delayed at all
            await healthy_client.send(encode({"type": "update", "id": healthy_widget.model_id,
                                              "state": {"clicked": n}, "seq": n}))
            assert (await _next(healthy_client, "update"))["state"] == {"value": n}
        # The stuck session is ended: its browser is told at once, while its thread still waits.
        manager.close(stuck, "The session was ended by an administrator.")
        lost = await _next(stuck_client, "session_lost")
        assert "administrator" in lost["reason"]
        assert stuck.id not in {s.id for s in manager}
        assert stuck.alive
    finally:
        release.set()
        assert await asyncio.to_thread(stuck.join, 5), "the thread ends once its code returns"
        for session in manager.close_all():
            await asyncio.to_thread(session.join, 5)
        await healthy_client.close()
        await stuck_client.close()
        await asyncio.gather(stuck_task, healthy_task)


def _session_threads() -> int:
    """Live session threads (asyncio's own worker threads come and go with load)."""
    return sum(t.name.startswith("numerous-session") for t in threading.enumerate())


def _rss_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


@pytest.mark.slow
async def test_ten_thousand_sessions_opened_and_closed_give_back_threads_and_memory() -> None:
    manager = SessionManager(SessionLimits())

    async def cycle(count: int, batch: int = 200) -> None:
        for _ in range(count // batch):
            sessions = []
            for _ in range(batch):
                session, built = manager.create(lambda: {"w": Clicker()}, owner=OWNER, base="")
                await built
                sessions.append(session)
            for session in sessions:
                manager.close(session)
            for session in sessions:
                assert await asyncio.to_thread(session.join, 5)

    await cycle(1_000)  # warm up: caches, allocator arenas, the first asset hashes
    gc.collect()
    release_free_memory()
    threads_before, rss_before = _session_threads(), _rss_kib()
    await cycle(10_000)
    gc.collect()
    release_free_memory()
    threads_after, rss_after = _session_threads(), _rss_kib()
    grown = rss_after - rss_before
    print(f"\n10 000 sessions: threads {threads_before} -> {threads_after}, "
          f"RSS {rss_before} -> {rss_after} KiB ({grown:+d} KiB)")
    assert len(manager) == 0
    # Sessions share a pool of threads: 10 000 sessions leave no thread of their own.
    assert threads_after <= max(threads_before, _pool.default_pool().keep + 2)
    # Each idle session costs ~60-170 KiB while open; 10 000 of them held would be > 600 MiB.
    assert grown < 20 * 1024, f"RSS grew by {grown} KiB over 10 000 sessions"


async def test_a_page_cannot_pull_in_another_sessions_widget() -> None:
    manager = SessionManager(SessionLimits())
    mine, built = manager.create(lambda: {"box": ipywidgets.HBox()}, owner=OWNER, base="")
    box = (await built)["box"]
    theirs, built = manager.create(lambda: {"label": ipywidgets.Label("secret")}, owner="x" * 32,
                                   base="")
    label = (await built)["label"]
    client, task = await _connect(manager, mine)
    try:
        await client.send(encode({"type": "update", "id": box.model_id, "seq": 1,
                                  "state": {"children": [f"IPY_MODEL_{label.model_id}"]}}))
        error = await _next(client, "error")
        assert error["code"] == "invalid_value" and "reference" in error["message"]
        assert list(box.children) == []
        own = ipywidgets.Label("mine")  # made outside the session: not a widget of it either
        await client.send(encode({"type": "update", "id": box.model_id, "seq": 2,
                                  "state": {"layout": f"IPY_MODEL_{own.model_id}"}}))
        assert (await _next(client, "error"))["code"] == "invalid_value"
    finally:
        for session in manager.close_all():
            await asyncio.to_thread(session.join, 5)
        await client.close()
        await task
