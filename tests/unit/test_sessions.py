"""The session manager: ids, the owner check, the cap and expiry."""

from __future__ import annotations

import asyncio
import gc
import re
import threading
import weakref
from typing import Any

import anywidget
import pytest
import traitlets

from numerous.apps import _pool
from numerous.apps._sessions import (
    AtCapacity,
    SessionLimits,
    SessionManager,
    TooManyNew,
    machine_session_cap,
)

from ._support import OWNER, async_wait_until, join


class Counter(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)


def run_app() -> dict[str, Any]:
    return {"counter": Counter()}


async def test_session_ids_are_long_random_and_url_safe(make_manager: Any) -> None:
    manager = make_manager()
    ids = set()
    for _ in range(20):
        session, built = manager.create(lambda: {}, owner=OWNER, base="")
        await built
        ids.add(session.id)
        assert len(session.id) == 32  # token_urlsafe(24): 192 bits
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", session.id)
    assert len(ids) == 20
    assert len(manager) == 20


async def test_create_builds_the_widgets_on_the_session(make_manager: Any) -> None:
    manager = make_manager()
    session, built = manager.create(run_app, owner=OWNER, base="/b")
    widgets = await built
    assert widgets["counter"].model_id in session.comms
    assert session.owner == OWNER and session.base == "/b"
    assert list(manager) == [session]


async def test_get_needs_the_owner_that_opened_the_session(make_manager: Any) -> None:
    manager = make_manager()
    session, built = manager.create(run_app, owner=OWNER, base="")
    await built
    assert manager.get(session.id, OWNER) is session
    assert manager.get(session.id, "x" * 32) is None
    assert manager.get(session.id, "") is None
    assert manager.get(session.id, OWNER[:-1]) is None
    assert manager.get("no-such-session", OWNER) is None


async def test_get_does_not_return_a_closed_session(make_manager: Any) -> None:
    manager = make_manager()
    session, built = manager.create(run_app, owner=OWNER, base="")
    await built
    manager.close(session)
    assert manager.get(session.id, OWNER) is None
    assert len(manager) == 0
    assert await join(session)


async def test_the_cap_on_live_sessions_raises_at_capacity(make_manager: Any) -> None:
    manager = make_manager(max_sessions=2)
    first, built = manager.create(run_app, owner=OWNER, base="")
    await built
    second, built = manager.create(run_app, owner=OWNER, base="")
    await built
    with pytest.raises(AtCapacity):
        manager.create(run_app, owner=OWNER, base="")
    assert len(manager) == 2

    manager.close(first)
    third, built = manager.create(run_app, owner=OWNER, base="")
    await built
    assert len(manager) == 2


async def test_a_session_without_a_connection_expires_after_the_grace(make_manager: Any) -> None:
    manager = make_manager(grace=0.05)
    session, built = manager.create(run_app, owner=OWNER, base="")
    widgets = await built
    await async_wait_until(lambda: session.closed)
    assert await join(session)
    assert len(manager) == 0
    assert manager.get(session.id, OWNER) is None
    assert widgets["counter"].comm is None, "its widgets were closed"


async def test_attaching_cancels_the_expiry(make_manager: Any) -> None:
    manager = make_manager(grace=0.05)
    session, built = manager.create(run_app, owner=OWNER, base="")
    manager.attached(session)  # before the loop runs again, so within the grace for sure
    await built
    await asyncio.sleep(0.2)  # four times the grace
    assert not session.closed and session.alive
    assert manager.get(session.id, OWNER) is session


async def test_detaching_again_starts_a_new_grace_period(make_manager: Any) -> None:
    manager = make_manager(grace=0.05)
    session, built = manager.create(run_app, owner=OWNER, base="")
    manager.attached(session)
    await built
    manager.detached(session)
    await async_wait_until(lambda: session.closed)
    assert await join(session)


async def test_close_all_closes_every_session_as_going_away(make_manager: Any) -> None:
    manager = make_manager()
    sessions = []
    for _ in range(3):
        session, built = manager.create(run_app, owner=OWNER, base="")
        await built
        sessions.append(session)
    closed = manager.close_all()
    assert set(closed) == set(sessions)
    assert len(manager) == 0
    for session in sessions:
        assert await join(session)
        assert session.closed


async def test_the_dev_flag_and_limits_reach_the_session(make_manager: Any) -> None:
    manager = make_manager(dev=True, max_pending=7)
    session, built = manager.create(run_app, owner=OWNER, base="")
    await built
    assert session.dev is True
    assert session.outbox.max_pending == 7


async def test_a_closed_session_is_not_kept_alive_by_the_manager() -> None:
    """Nothing keeps a closed session alive: not the manager, not a pending expiry timer."""
    manager = SessionManager(SessionLimits(grace=60.0))
    session, built = manager.create(run_app, owner=OWNER, base="")
    await built
    manager.attached(session)  # a connection came: expiry is off
    ref = weakref.ref(session)
    manager.close(session)
    assert await join(session)

    del session, built
    gc.collect()
    assert ref() is None, [type(r).__name__ for r in gc.get_referrers(ref())]


async def test_a_session_whose_thread_cannot_start_is_not_left_behind(
        make_manager: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    manager = make_manager()

    # Sessions share a pool of threads: a page load needs a thread to start only when the
    # pool has none idle, as in a fresh process.
    monkeypatch.setattr(_pool, "_default", _pool.SessionPool())
    start = threading.Thread.start

    def refuse(self: threading.Thread) -> None:
        if self.name.startswith("numerous-session"):
            raise RuntimeError("can't start new thread")
        start(self)

    with monkeypatch.context() as patched:
        patched.setattr(threading.Thread, "start", refuse)
        with pytest.raises(AtCapacity):
            manager.create(run_app, owner=OWNER, base="")
    assert len(manager) == 0
    session, built = manager.create(run_app, owner=OWNER, base="")
    await built
    assert len(manager) == 1


def test_the_default_cap_follows_the_machine() -> None:
    assert SessionLimits().max_sessions == machine_session_cap()
    assert machine_session_cap(threads=1_000, memory=None) < 1_000  # room for other threads
    assert machine_session_cap(threads=None, memory=64 * 1024 * 1024) < 64
    assert machine_session_cap(threads=None, memory=None) >= 1_000


async def test_new_sessions_per_address_are_limited(make_manager: Any) -> None:
    manager = make_manager(max_new_sessions_per_minute=2)
    for _ in range(2):
        await manager.create(run_app, owner=OWNER, base="", address="203.0.113.9")[1]
    with pytest.raises(TooManyNew):
        manager.create(run_app, owner=OWNER, base="", address="203.0.113.9")
    await manager.create(run_app, owner=OWNER, base="", address="203.0.113.10")[1]
    assert len(manager) == 3
