"""Signing out, and a sign-in revoked for reuse of its refresh token, refuse its access token
at once: on this instance, and on every instance sharing the provider's database.

Each access token names its sign-in (`sid`, the refresh-token family); an ended sign-in is
recorded in the provider's store (memory for EnvAuthProvider, a table for
DatabaseAuthProvider, SQLite or PostgreSQL) until its last access token would have expired.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from numerous.apps.auth import BaseAuthProvider, CreateUserRequest, User, _refresh
from numerous.apps.auth.providers import DatabaseAuthProvider, _hashing

from ._auth_support import (
    PAGE,
    PASSWORDS,
    TestClient,
    config_of,
    env_provider,
    login,
    make_app,
    new_secret,
    put_cookie,
    until_ready,
    ws_hello,
    ws_message,
)

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
Served = Callable[..., TestClient]


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from pwdlib.hashers.argon2 import Argon2Hasher

    monkeypatch.setattr(_hashing, "Argon2Hasher", functools.partial(
        Argon2Hasher, time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def on_database(tmp_path: Path, cheap_hashing: None
                ) -> Iterator[Callable[[str], list[DatabaseAuthProvider]]]:
    """`on_database("sqlite" or "postgresql")`: two DatabaseAuthProviders on one database (two
    instances of an app: the same tables and secret); `add_users` gives them users."""
    made: list[list[DatabaseAuthProvider]] = []

    def make(kind: str) -> list[DatabaseAuthProvider]:
        url = f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}" if kind == "sqlite" else POSTGRES
        prefix, secret = f"t{uuid.uuid4().hex[:12]}_", new_secret()
        pair = [DatabaseAuthProvider(url, jwt_secret=secret, table_prefix=prefix)
                for _ in range(2)]
        made.append(pair)
        return pair

    yield make

    async def clean_up() -> None:
        for pair in made:
            await pair[0].drop_tables()
            for provider in pair:
                await provider.close()

    asyncio.run(clean_up())


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest,
              on_database: Callable[[str], list[DatabaseAuthProvider]]
              ) -> list[DatabaseAuthProvider]:
    return on_database(request.param)


async def add_users(provider: DatabaseAuthProvider) -> User:
    """Create `ann` and `bob`; returns ann."""
    users = [await provider.create_user(CreateUserRequest(username=name,
                                                          password=PASSWORDS[name]))
             for name in ("ann", "bob")]
    return users[0]


@pytest.fixture(params=["env", "sqlite", "postgresql"])
def provider(request: pytest.FixtureRequest,
             on_database: Callable[[str], list[DatabaseAuthProvider]]) -> BaseAuthProvider:
    if request.param == "env":
        return env_provider()
    database = on_database(request.param)[0]
    asyncio.run(add_users(database))
    return database


def signed_in_copy(client: TestClient, served: Served) -> TestClient:
    """Another browser holding a copy of `client`'s access cookie (as a thief would)."""
    thief = served(client.app)
    put_cookie(thief, "access_token", client.cookies["access_token"])
    return thief


def test_after_sign_out_the_old_access_cookie_opens_nothing(
        tmp_path: Path, served: Served, provider: BaseAuthProvider) -> None:
    client = served(make_app(tmp_path, provider))
    other_device = served(client.app)
    assert login(client, "ann").status_code == 200
    assert login(other_device, "ann").status_code == 200
    thief = signed_in_copy(client, served)
    assert thief.get("/api/auth/me").status_code == 200
    config = config_of(thief.get("/", headers=PAGE).text)

    assert client.post("/api/auth/logout", json={}).status_code == 200

    assert thief.get("/api/auth/me").status_code == 401
    assert thief.get("/api/auth/check").json() == {"authenticated": False}
    assert thief.get("/", headers=PAGE).headers["location"].startswith("/login")
    with thief.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        assert ws_message(ws) == 4401
    assert other_device.get("/api/auth/me").status_code == 200, "another sign-in goes on"


def test_a_refresh_token_used_twice_ends_the_sign_in_at_once(
        tmp_path: Path, served: Served, provider: BaseAuthProvider) -> None:
    client = served(make_app(tmp_path, provider))
    assert login(client, "ann").status_code == 200
    copied_refresh = client.cookies["refresh_token"]
    thief = signed_in_copy(client, served)
    assert client.post("/api/auth/refresh").status_code == 200  # the owner rotates
    put_cookie(thief, "refresh_token", copied_refresh, path="/api/auth")
    assert thief.post("/api/auth/refresh").status_code == 401, "reuse: the family is revoked"

    assert client.get("/api/auth/me").status_code == 401, "the newest access token too"
    assert thief.get("/api/auth/me").status_code == 401


def test_sign_out_ends_the_open_websockets_of_that_sign_in(
        tmp_path: Path, served: Served, provider: BaseAuthProvider) -> None:
    app = make_app(tmp_path, provider)
    client = served(app)
    assert login(client, "ann").status_code == 200
    other_device = served(app)
    assert login(other_device, "ann").status_code == 200
    thief = signed_in_copy(client, served)
    thief_page = config_of(thief.get("/", headers=PAGE).text)
    other_page = config_of(other_device.get("/", headers=PAGE).text)
    with thief.websocket_connect("/numerous/ws") as ws, \
            other_device.websocket_connect("/numerous/ws") as other_ws:
        ws_hello(ws, thief_page["session"])
        until_ready(ws)
        ws_hello(other_ws, other_page["session"])
        until_ready(other_ws)
        assert client.post("/api/auth/logout", json={}).status_code == 200
        lost = ws_message(ws)
        assert isinstance(lost, dict) and lost["type"] == "session_lost"
    owners = [session.owner for session in app.numerous.sessions]
    assert len(owners) == 1 and owners[0].endswith(other_device.cookies["numerous_client"])


def test_a_reused_refresh_token_ends_the_open_websockets_of_its_sign_in(
        tmp_path: Path, served: Served) -> None:
    app = make_app(tmp_path, env_provider())
    client = served(app)
    assert login(client, "ann").status_code == 200
    copied_refresh = client.cookies["refresh_token"]
    page = config_of(client.get("/", headers=PAGE).text)
    with client.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, page["session"])
        until_ready(ws)
        assert client.post("/api/auth/refresh").status_code == 200
        thief = served(app)
        put_cookie(thief, "refresh_token", copied_refresh, path="/api/auth")
        assert thief.post("/api/auth/refresh").status_code == 401
        lost = ws_message(ws)
        assert isinstance(lost, dict) and lost["type"] == "session_lost"
    assert list(app.numerous.sessions) == []


@pytest.mark.parametrize("ending", ["sign out", "reuse"])
async def test_an_ended_sign_in_is_refused_on_every_instance_sharing_the_database(
        databases: list[DatabaseAuthProvider], ending: str) -> None:
    one, other = databases
    ann = await add_users(one)
    pair, second = await one.issue_tokens(ann), await one.issue_tokens(ann)
    assert await other.user_for_access_token(pair.access.token) == ann
    if ending == "sign out":
        assert await other.revoke(pair.refresh.token) == ann
    else:
        rotated = await one.refresh(pair.refresh.token)
        assert rotated is not None
        assert await other.refresh(pair.refresh.token) is None
        assert await one.user_for_access_token(rotated[1].access.token) is None
    for instance in (one, other):
        assert await instance.user_for_access_token(pair.access.token) is None
        assert await instance.user_for_access_token(second.access.token) == ann
    assert await one.refresh(second.refresh.token) is not None


async def test_checking_an_access_token_is_one_query(
        databases: list[DatabaseAuthProvider]) -> None:
    provider = databases[0]
    ann = await add_users(provider)
    pair = await provider.issue_tokens(ann)
    statements: list[str] = []
    engine = provider._engines.current().sync_engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert await provider.user_for_access_token(pair.access.token) == ann
        assert len(statements) == 1, statements
        await provider.revoke(pair.refresh.token)
        statements.clear()
        assert await provider.user_for_access_token(pair.access.token) is None
        assert len(statements) == 1, statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


async def test_ended_sign_ins_are_forgotten_once_their_access_tokens_expire(
        databases: list[DatabaseAuthProvider]) -> None:
    provider = databases[0]
    ann = await add_users(provider)
    for _ in range(3):
        await provider.revoke((await provider.issue_tokens(ann)).refresh.token)
    ended = provider.tables.ended_sign_ins
    engine = provider._engines.current()

    async def rows() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(ended)))
                       .scalar_one())

    assert await rows() == 3
    await provider.purge_expired_tokens()
    assert await rows() == 3, "kept while an access token of theirs may still be valid"
    later = time.time() + provider.access_token_lifetime + 1
    await provider.purge_expired_tokens(now=later)
    assert await rows() == 0


def test_the_env_provider_forgets_ended_sign_ins_once_their_access_tokens_expire(
        monkeypatch: pytest.MonkeyPatch) -> None:
    provider = env_provider(access_token_lifetime=60)

    async def sign_in_and_out() -> None:
        user = await provider.get_user("ann")
        assert user is not None
        await provider.revoke((await provider.issue_tokens(user)).refresh.token)

    for _ in range(3):
        asyncio.run(sign_in_and_out())
    store = provider._memory_store
    assert len(store.ended) == 3
    later = time.time() + 61
    monkeypatch.setattr(_refresh, "time", SimpleNamespace(time=lambda: later))
    asyncio.run(sign_in_and_out())
    assert len(store.ended) == 1, "expired ones are dropped as new ones come"


def test_signing_out_with_only_the_access_cookie_ends_its_sign_in(
        tmp_path: Path, served: Served) -> None:
    client = served(make_app(tmp_path, env_provider()))
    assert login(client, "ann").status_code == 200
    thief = signed_in_copy(client, served)
    client.cookies.delete("refresh_token", path="/api/auth")
    assert "refresh_token" not in client.cookies
    assert client.post("/api/auth/logout", json={}).status_code == 200
    assert thief.get("/api/auth/me").status_code == 401


async def test_a_refresh_racing_a_sign_out_hands_out_nothing() -> None:
    provider = env_provider()
    user = await provider.get_user("ann")
    assert user is not None
    pair = await provider.issue_tokens(user)
    save = provider.save_refresh_token

    async def signed_out_meanwhile(record: Any) -> None:
        # The sign-out lands after the rotation revoked the old token, before it saves the
        # new one: the family revocation cannot have reached the new token.
        await provider.revoke(pair.refresh.token)
        await save(record)

    provider.save_refresh_token = signed_out_meanwhile  # type: ignore[method-assign]
    assert await provider.refresh(pair.refresh.token) is None
    provider.save_refresh_token = save  # type: ignore[method-assign]
    records = list(provider._memory_store._records.values())
    assert len(records) == 2 and all(not record.active for record in records)
