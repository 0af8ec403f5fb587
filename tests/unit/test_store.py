"""The session store against the real Redis: values written through and coalesced, a lost
session rebuilt for its owner only, signed-in users resumed, shared widgets kept the same
across instances, and an app that carries on while the store is down."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis

from numerous.apps import RedisStore, _comm
from numerous.apps._connection import memory_pair
from numerous.apps._protocol import PROTOCOL_VERSION, decode, encode
from numerous.apps._session import Session
from numerous.apps._sessions import SessionLimits, SessionManager
from numerous.apps._socket import serve_connection
from numerous.apps._store import StoreKeeper, decode as decode_fields, owner_digest
from numerous.apps.testing import free_port, start_redis

from ._support import Field

REDIS = "redis://127.0.0.1:6379/0"
OWNER = "o" * 32


@pytest.fixture(autouse=True)
def _routed() -> None:
    _comm.install()


@pytest.fixture
def store() -> Iterator[RedisStore]:
    """A RedisStore on the real Redis, under a prefix of its own (deleted afterwards)."""
    store = RedisStore(REDIS, prefix=f"test-{uuid.uuid4().hex[:10]}", ttl=60)
    try:
        store.client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS} is not reachable ({exc})")
    yield store
    keys = list(store.client.scan_iter(f"{store.prefix}:*"))
    if keys:
        store.client.delete(*keys)
    store.close()


@pytest.fixture
async def keeper(store: RedisStore) -> AsyncIterator[StoreKeeper]:
    keeper = StoreKeeper(store, resume_users=True, interval=0.05)
    keeper.start()
    yield keeper
    await keeper.stop()


@pytest.fixture
async def manager() -> AsyncIterator[SessionManager]:
    manager = SessionManager(SessionLimits(max_sessions=None))
    yield manager
    for closed in manager.close_all():
        await asyncio.to_thread(closed.join, 5)


async def _open(manager: SessionManager, keeper: StoreKeeper, owner: str = OWNER,
                user: Any = None, shared: bool = False) -> Session:
    session, built = manager.create(lambda: {"f": Field()}, owner=owner, base="/app",
                                    user=user, shared=shared)
    await built
    keeper.opened(session)
    return session


class Page:
    """A raw protocol client on one session: hello (maybe resuming), snapshot, updates."""

    def __init__(self, manager: SessionManager, keeper: StoreKeeper, session: Session,
                 owner: str = OWNER) -> None:
        self.client, server = memory_pair()
        self.task = asyncio.ensure_future(
            serve_connection(server, manager, owner, on_join=keeper.joined))
        self.session = session
        self.seq = 0

    async def hello(self, resume: str | None = None) -> dict[str, Any]:
        hello: dict[str, Any] = {"type": "hello", "protocol": PROTOCOL_VERSION,
                                 "session": self.session.id}
        if resume is not None:
            hello["resume"] = resume
        await self.client.send(encode(hello))
        states = {}
        while (message := decode(await self.client.receive())[0])["type"] != "ready":
            states[message["id"]] = message["state"]
        return {key: states[model_id] for key, model_id in message["widgets"].items()}

    async def set(self, **state: Any) -> None:
        self.seq += 1
        await self.client.send(encode({"type": "update", "id": self.session.widgets["f"].model_id,
                                       "state": state, "seq": self.seq}))

    async def settle(self) -> None:
        await self.client.send(encode({"type": "sync", "token": 1}))
        while decode(await self.client.receive())[0]["type"] != "synced":
            pass

    async def close(self) -> None:
        await self.client.close()
        await self.task


async def _until(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _stored(store: RedisStore, key: str) -> dict[str, dict[str, Any]]:
    return decode_fields(store.read(key))


async def test_values_are_written_through_coalesced_and_rebuilt_for_their_owner(
        store: RedisStore, keeper: StoreKeeper, manager: SessionManager) -> None:
    first = await _open(manager, keeper)
    page = Page(manager, keeper, first)
    await page.hello()
    writes = keeper.writes
    for n in range(1, 101):  # a burst of changes: a few writes, not a hundred
        await page.set(value=f"v{n}", count=n)
    await page.settle()
    key = keeper.key("/app", "s", first.id)
    await _until(lambda: _stored(store, key).get("f", {}).get("count") == 100)
    assert _stored(store, key)["f"] == {"value": "v100", "count": 100}
    assert keeper.writes - writes < 20
    stored = store.read(key)
    assert stored["owner"] == owner_digest(OWNER) and OWNER not in str(stored)
    assert 0 < store.client.ttl(key) <= 60
    await page.close()

    # The instance is gone; the page reloads onto a new session and names the lost one.
    Field.changes = 0
    second = await _open(manager, keeper)
    page = Page(manager, keeper, second)
    state = (await page.hello(resume=first.id))["f"]
    assert (state["value"], state["count"]) == ("v100", 100)
    assert Field.changes == 0  # put back without callbacks
    # The new session's hash took over: the old one is gone, the new one holds the values.
    new_key = keeper.key("/app", "s", second.id)
    await _until(lambda: store.client.exists(key) == 0 and
                 _stored(store, new_key).get("f", {}).get("count") == 100)
    await page.close()


async def test_another_owner_cannot_take_a_stored_session(
        store: RedisStore, keeper: StoreKeeper, manager: SessionManager) -> None:
    first = await _open(manager, keeper)
    page = Page(manager, keeper, first)
    await page.hello()
    await page.set(value="secret")
    await page.settle()
    key = keeper.key("/app", "s", first.id)
    await _until(lambda: _stored(store, key).get("f", {}).get("value") == "secret")
    await page.close()

    thief = "t" * 32
    other = await _open(manager, keeper, owner=thief)
    page = Page(manager, keeper, other, owner=thief)
    assert (await page.hello(resume=first.id))["f"]["value"] == ""
    await page.close()
    assert store.client.exists(key) == 1  # and the owner's copy is untouched


async def test_stored_values_pass_the_checks_of_a_browsers_values(
        store: RedisStore, keeper: StoreKeeper, manager: SessionManager) -> None:
    first = await _open(manager, keeper)
    key = keeper.key("/app", "s", first.id)
    store.write({key: {"owner": owner_digest(OWNER), '["f", "value"]': '"ok"',
                       '["f", "count"]': '"not a number"', '["f", "_esm"]': '"evil()"',
                       '["ghost", "value"]': "1", "[broken": "x"}}, [])
    second = await _open(manager, keeper)
    page = Page(manager, keeper, second)
    state = (await page.hello(resume=first.id))["f"]
    assert (state["value"], state["count"]) == ("ok", 0)
    assert state["_esm"] != "evil()"
    await page.close()


async def test_a_signed_in_user_resumes_in_a_new_session(
        store: RedisStore, keeper: StoreKeeper, manager: SessionManager) -> None:
    ann, bob = SimpleNamespace(id="ann-1"), SimpleNamespace(id="bob-2")
    first = await _open(manager, keeper, owner="ann-laptop" * 4, user=ann)
    page = Page(manager, keeper, first, owner="ann-laptop" * 4)
    await page.hello()
    await page.set(value="from the laptop")
    await page.settle()
    await _until(lambda: _stored(store, keeper.key("/app", "u", "ann-1")).get("f"))
    # Another device: another owner, the same user, no lost session to name.
    phone = await _open(manager, keeper, owner="ann-phone" * 4, user=ann)
    other = Page(manager, keeper, phone, owner="ann-phone" * 4)
    assert (await other.hello())["f"]["value"] == "from the laptop"
    stranger = await _open(manager, keeper, owner="bob-phone" * 4, user=bob)
    third = Page(manager, keeper, stranger, owner="bob-phone" * 4)
    assert (await third.hello())["f"]["value"] == ""
    for p in (page, other, third):
        await p.close()


async def test_shared_widgets_stay_the_same_across_instances(store: RedisStore) -> None:
    """Two instances in one process: two managers, two keepers, one Redis."""
    keepers = [StoreKeeper(store, interval=0.05) for _ in range(2)]
    managers = [SessionManager(SessionLimits(max_sessions=None)) for _ in range(2)]
    try:
        for keeper in keepers:
            keeper.start()
        sessions = [await _open(m, k, shared=True) for m, k in zip(managers, keepers)]
        widgets = [s.widgets["f"] for s in sessions]
        pages = [Page(m, k, s) for m, k, s in zip(managers, keepers, sessions)]
        for page in pages:
            await page.hello()
        await asyncio.sleep(0.3)  # both subscribed
        await pages[0].set(value="from a")
        await _until(lambda: widgets[1].value == "from a")
        # Conflicting changes at once: every instance ends on the same value.
        for n in range(20):
            await pages[n % 2].set(count=n + 1)
        await _until(lambda: widgets[0].count == widgets[1].count and
                     (widgets[0].count, widgets[1].count) != (0, 0), 10)
        await asyncio.sleep(0.5)
        assert widgets[0].count == widgets[1].count
        stored = decode_fields(store.read(keepers[0].key("/app", "shared", "values")))
        assert stored["f"]["count"] == widgets[0].count
        # A third instance starts from the values in the store.
        late_keeper = StoreKeeper(store, interval=0.05)
        late_manager = SessionManager(SessionLimits(max_sessions=None))
        managers.append(late_manager)
        keepers.append(late_keeper)
        late = await _open(late_manager, late_keeper, shared=True)
        await _until(lambda: late.widgets["f"].value == "from a")
        for page in pages:
            await page.close()
    finally:
        for keeper in keepers:
            await keeper.stop()
        for manager in managers:
            for closed in manager.close_all():
                await asyncio.to_thread(closed.join, 5)


# --- a store that goes away -------------------------------------------------------------------


async def test_the_app_carries_on_while_the_store_is_down(
        manager: SessionManager, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    server = start_redis(tmp_path, port)[0]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", ttl=60, timeout=0.2)
    keeper = StoreKeeper(store, interval=0.05, read_timeout=0.5)
    keeper.start()
    try:
        session = await _open(manager, keeper)
        page = Page(manager, keeper, session)
        await page.hello()
        key = keeper.key("/app", "s", session.id)
        await page.set(value="before")
        await page.settle()
        await _until(lambda: _stored(store, key).get("f", {}).get("value") == "before")

        server.kill()
        server.wait(5)
        started = time.monotonic()
        for n in range(5):
            await page.set(value=f"during {n}")
            await page.settle()  # answered at once: the session never waits for the store
        assert time.monotonic() - started < 1.0
        assert session.widgets["f"].value == "during 4"
        await _until(lambda: keeper.failures > 0 and keeper.down)
        # A page that comes back meanwhile gets a fresh session, at once.
        fresh = await _open(manager, keeper)
        other = Page(manager, keeper, fresh)
        started = time.monotonic()
        assert (await other.hello(resume=session.id))["f"]["value"] == ""
        assert time.monotonic() - started < 2.0
        await other.close()
        assert "session store" in caplog.text and "failed" in caplog.text

        server = start_redis(tmp_path, port)[0]  # an empty Redis, on the same port
        await _until(lambda: not keeper.down and keeper.pending == 0, 10)
        assert _stored(store, key)["f"]["value"] == "during 4"  # resynced
        await page.close()
    finally:
        await keeper.stop()
        store.close()
        server.kill()
        server.wait(5)
