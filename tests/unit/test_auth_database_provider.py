"""DatabaseAuthProvider against a real SQLite file and the real PostgreSQL server.

PostgreSQL is the one on this machine (postgresql+asyncpg://postgres@127.0.0.1:5432/test, trust
authentication; override with NUMEROUS_TEST_POSTGRES). Each provider gets tables with a unique
prefix, dropped after the test.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import sqlalchemy as sa

from numerous.apps.auth import CreateUserRequest, RefreshTokenRecord, UpdateUserRequest
from numerous.apps.auth.providers import (
    DatabaseAuthProvider,
    UserExistsError,
    _hashing,
    database_auth,
)
from numerous.apps.auth.providers._hashing import StoredPasswords

from ._auth_support import (
    PAGE,
    TestClient,
    config_of,
    make_app,
    new_secret,
    put_cookie,
    until_ready,
    ws_hello,
    ws_message,
)

POSTGRES = os.environ.get("NUMEROUS_TEST_POSTGRES",
                          "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
Make = Callable[..., DatabaseAuthProvider]


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its recommended cost takes up to a second on a busy test machine: the
    tests use a cheap setting (test_new_hashes_use_argon2id... checks the real one)."""
    from pwdlib.hashers.argon2 import Argon2Hasher

    monkeypatch.setattr(_hashing, "Argon2Hasher", functools.partial(
        Argon2Hasher, time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"
    return POSTGRES


@pytest.fixture
def make_provider(database_url: str) -> Iterator[Make]:
    providers: list[DatabaseAuthProvider] = []

    def make(**options: Any) -> DatabaseAuthProvider:
        options.setdefault("jwt_secret", new_secret())
        provider = DatabaseAuthProvider(database_url, table_prefix=f"t{uuid.uuid4().hex[:12]}_",
                                        **options)
        providers.append(provider)
        return provider

    yield make

    async def clean_up(provider: DatabaseAuthProvider) -> None:
        await provider.drop_tables()
        await provider.close()

    for provider in providers:
        asyncio.run(clean_up(provider))


def ann() -> CreateUserRequest:
    return CreateUserRequest(username="ann", password="ann-password-1", email="a@x.org",
                             roles=["editor"], metadata={"team": "blue"})


async def _column(provider: DatabaseAuthProvider, table: sa.Table, column: str) -> list[Any]:
    engine = provider._engines.current()
    async with engine.connect() as conn:
        return [row[0] for row in await conn.execute(sa.select(table.c[column]))]


async def test_tables_are_created_on_first_use(make_provider: Make) -> None:
    provider = make_provider()
    assert await provider.list_users() == []
    user = await provider.create_user(ann())
    assert user.username == "ann" and user.roles == ["editor"] and user.email == "a@x.org"
    assert user.metadata == {"team": "blue"} and user.is_active and not user.is_admin
    assert await provider.get_user(user.id) == user
    assert await provider.get_user_by_username("ann") == user
    assert await provider.get_user("nope") is None


async def test_instances_starting_together_on_a_new_database_all_start() -> None:
    # Each would find no tables and create them; PostgreSQL refuses all but the first.
    prefix = f"t{uuid.uuid4().hex[:12]}_"
    providers = [DatabaseAuthProvider(POSTGRES, jwt_secret=new_secret(), table_prefix=prefix)
                 for _ in range(4)]
    try:
        for _ in range(3):
            await asyncio.gather(*(provider.startup() for provider in providers))
            await providers[0].drop_tables()
            for provider in providers:
                provider._tables_ready = False  # noqa: SLF001 - start afresh on new tables
    finally:
        for provider in providers:
            await provider.close()


async def test_authenticate(make_provider: Make) -> None:
    provider = make_provider()
    await provider.create_user(ann())
    assert (await provider.authenticate("ann", "ann-password-1")).success
    wrong = await provider.authenticate("ann", "wrong-password")
    unknown = await provider.authenticate("nobody", "wrong-password")
    assert not wrong.success and not unknown.success and wrong.error == unknown.error
    assert not (await provider.authenticate("ann", "x" * 5000)).success


async def test_passwords_are_argon2id_and_never_stored_plain(make_provider: Make) -> None:
    provider = make_provider()
    await provider.create_user(ann())
    hashes = await _column(provider, provider.tables.users, "password_hash")
    assert hashes[0].startswith("$argon2id$") and "ann-password-1" not in hashes[0]


async def test_a_bcrypt_hash_verifies_and_is_rehashed_to_argon2(make_provider: Make) -> None:
    provider = make_provider()
    user = await provider.create_user(ann())
    legacy = bcrypt.hashpw(b"old-bcrypt-password", bcrypt.gensalt(rounds=4)).decode()
    users = provider.tables.users
    await provider._execute(sa.update(users).where(users.c.id == user.id)
                            .values(password_hash=legacy))
    assert not (await provider.authenticate("ann", "wrong-password")).success
    assert (await provider.authenticate("ann", "old-bcrypt-password")).success
    stored = (await _column(provider, users, "password_hash"))[0]
    assert stored.startswith("$argon2id$")
    assert (await provider.authenticate("ann", "old-bcrypt-password")).success


async def test_usernames_are_unique(make_provider: Make) -> None:
    provider = make_provider()
    await provider.create_user(ann())
    with pytest.raises(UserExistsError, match="ann"):
        await provider.create_user(ann())


async def test_list_update_disable_enable_and_delete(make_provider: Make) -> None:
    provider = make_provider()
    first = await provider.create_user(ann())
    second = await provider.create_user(CreateUserRequest(username="bob",
                                                          password="bob-password-1"))
    assert [u.username for u in await provider.list_users()] == ["ann", "bob"]
    updated = await provider.update_user(first.id, roles=["viewer"], is_admin=True,
                                         metadata={"team": "red"})
    assert updated is not None and updated.roles == ["viewer"] and updated.is_admin
    assert updated.metadata == {"team": "red"} and updated.email == "a@x.org"
    changed = await provider.update_user(first.id, UpdateUserRequest(email=None))
    assert changed is not None and changed.email is None and changed.roles == ["viewer"]
    assert await provider.update_user("nope", roles=[]) is None

    assert await provider.disable_user(second.id)
    assert [u.username for u in await provider.list_users(include_inactive=False)] == ["ann"]
    signed_in = await provider.sign_in("bob", "bob-password-1")
    assert not signed_in.success, "a disabled user cannot sign in"
    assert await provider.enable_user(second.id)
    assert (await provider.sign_in("bob", "bob-password-1")).success

    assert await provider.delete_user(second.id)
    assert not await provider.delete_user(second.id)
    assert await provider.get_user(second.id) is None


async def test_change_password_revokes_refresh_tokens(make_provider: Make) -> None:
    provider = make_provider()
    user = await provider.create_user(ann())
    pair = await provider.issue_tokens(user)
    with pytest.raises(ValueError, match="8"):
        await provider.change_password(user.id, "short")
    assert not await provider.change_password(user.id, "new-password-1",
                                              current_password="wrong-password")
    assert await provider.change_password(user.id, "new-password-1",
                                          current_password="ann-password-1")
    assert not (await provider.authenticate("ann", "ann-password-1")).success
    assert (await provider.authenticate("ann", "new-password-1")).success
    assert await provider.refresh(pair.refresh.token) is None
    assert not await provider.change_password("nope", "new-password-1")


@pytest.mark.parametrize("action", ["new password", "revoke"])
async def test_access_tokens_issued_before_a_revocation_are_refused_on_every_instance(
        make_provider: Make, database_url: str, action: str) -> None:
    provider = make_provider()
    user = await provider.create_user(ann())
    bob = await provider.create_user(CreateUserRequest(username="bob",
                                                       password="bob-password-1"))
    # Another instance of the app: the same database and secret.
    other = DatabaseAuthProvider(database_url, table_prefix=provider.tables.users.name[:-5],
                                 jwt_secret=provider.jwt_secret)
    try:
        before, bobs = await provider.issue_tokens(user), await provider.issue_tokens(bob)
        assert await other.user_for_access_token(before.access.token) is not None
        await asyncio.sleep(0.002)  # tokens are stamped to the millisecond
        if action == "new password":
            assert await provider.change_password(user.id, "ann-password-2")
        else:
            await provider.revoke_user_tokens(user.id)
        for instance in (provider, other):
            assert await instance.user_for_access_token(before.access.token) is None
            assert await instance.user_for_access_token(bobs.access.token) is not None
        after = await provider.issue_tokens(user)  # signed in again, a moment later
        assert await other.user_for_access_token(after.access.token) is not None
    finally:
        await other.close()


async def test_refresh_rotation_reuse_and_revocation(make_provider: Make) -> None:
    provider = make_provider()
    user = await provider.create_user(ann())
    pair = await provider.issue_tokens(user)
    rotated = await provider.refresh(pair.refresh.token)
    assert rotated is not None and rotated[0] == user
    newer = rotated[1]
    assert newer.refresh.jti != pair.refresh.jti
    assert await provider.refresh(pair.refresh.token) is None, "reuse is refused"
    assert await provider.refresh(newer.refresh.token) is None, "and revokes the family"

    other = await provider.issue_tokens(user)
    assert await provider.revoke(other.refresh.token) == user
    assert await provider.refresh(other.refresh.token) is None, "signed out"

    third = await provider.issue_tokens(user)
    await provider.disable_user(user.id)
    assert await provider.refresh(third.refresh.token) is None, "disabled users are out"


async def test_only_token_ids_are_stored(make_provider: Make) -> None:
    provider = make_provider()
    user = await provider.create_user(ann())
    pair = await provider.issue_tokens(user)
    tokens = provider.tables.refresh_tokens
    engine = provider._engines.current()
    async with engine.connect() as conn:
        rows = [tuple(row) for row in await conn.execute(sa.select(tokens))]
    assert len(rows) == 1 and rows[0][0] == pair.refresh.jti
    assert not any(pair.refresh.token in str(value) for value in rows[0])


async def test_expired_token_records_are_purged(make_provider: Make) -> None:
    provider = make_provider()
    user = await provider.create_user(ann())
    await provider.issue_tokens(user)
    await provider.save_refresh_token(RefreshTokenRecord(
        jti="old", family="f", user_id=user.id, expires_at=time.time() - 1))
    assert await provider.purge_expired_tokens() == 1
    assert await provider.load_refresh_token("old") is None


def test_the_seed_setup_script_then_serving_on_another_loop(
        make_provider: Make, tmp_path: Path) -> None:
    """As in the README: asyncio.run(create users), then the server runs its own loop."""
    provider = make_provider()
    asyncio.run(provider.create_user(ann()))
    app = make_app(tmp_path, provider)
    with TestClient(app, follow_redirects=False) as client:
        login = client.post("/api/auth/login", data={"username": "ann",
                                                     "password": "ann-password-1"})
        assert login.status_code == 303
        config = config_of(client.get("/", headers=PAGE).text)
        with client.websocket_connect("/numerous/ws") as ws:
            ws_hello(ws, config["session"])
            assert until_ready(ws)[-1]["type"] == "ready"
        stolen = client.cookies["refresh_token"]
        assert client.post("/api/auth/refresh").status_code == 200
        assert client.get("/api/auth/me").json()["user"]["username"] == "ann"
        thief = TestClient(app)
        put_cookie(thief, "refresh_token", stolen, path="/api/auth")
        assert thief.post("/api/auth/refresh").status_code == 401
        assert client.post("/api/auth/refresh").status_code == 401, "family revoked"
        client.cookies.delete("access_token")
        with client.websocket_connect("/numerous/ws") as ws:
            ws_hello(ws, config["session"])
            assert ws_message(ws) == 4401
    asyncio.run(provider.create_user(CreateUserRequest(username="bob",
                                                       password="bob-password-1")))


def test_a_disabled_user_is_signed_out_at_once(make_provider: Make, tmp_path: Path) -> None:
    provider = make_provider()
    user = asyncio.run(provider.create_user(ann()))
    with TestClient(make_app(tmp_path, provider), follow_redirects=False) as client:
        client.post("/api/auth/login", json={"username": "ann", "password": "ann-password-1"})
        assert client.get("/", headers=PAGE).status_code == 200
        assert client.portal is not None
        client.portal.call(provider.disable_user, user.id)
        assert client.get("/", headers=PAGE).status_code == 303
        assert client.post("/api/auth/refresh").status_code == 401


@pytest.mark.parametrize("action", ["disable", "new password", "revoke", "delete"])
def test_disabling_revoking_or_a_new_password_ends_the_users_open_sessions(
        make_provider: Make, tmp_path: Path, action: str) -> None:
    provider = make_provider()
    user = asyncio.run(provider.create_user(ann()))
    asyncio.run(provider.create_user(CreateUserRequest(username="bob",
                                                       password="bob-password-1")))
    calls = {"disable": functools.partial(provider.disable_user, user.id),
             "new password": functools.partial(provider.change_password, user.id,
                                               "ann-password-2"),
             "revoke": functools.partial(provider.revoke_user_tokens, user.id),
             "delete": functools.partial(provider.delete_user, user.id)}
    app = make_app(tmp_path, provider)
    with TestClient(app, follow_redirects=False) as client:
        client.post("/api/auth/login", json={"username": "bob", "password": "bob-password-1"})
        client.get("/", headers=PAGE)  # bob's session: it goes on
        client.post("/api/auth/login", json={"username": "ann", "password": "ann-password-1"})
        config = config_of(client.get("/", headers=PAGE).text)
        with client.websocket_connect(config["ws"]) as ws:
            ws_hello(ws, config["session"])
            until_ready(ws)
            assert client.portal is not None
            client.portal.call(calls[action])
            lost = ws_message(ws)
            assert isinstance(lost, dict) and lost["type"] == "session_lost"
            assert ws_message(ws) == 4404
        assert [s.user.username for s in app.numerous.sessions] == ["bob"]


async def test_an_unknown_user_is_checked_against_a_dummy_hash(
        make_provider: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same work for an unknown user as for a wrong password: no timing oracle."""
    provider = make_provider()
    await provider.create_user(ann())
    checked: list[str | None] = []
    verify = provider._passwords.verify

    def spy(password: str, stored: str | None) -> tuple[bool, str | None]:
        checked.append(stored)
        return verify(password, stored)

    monkeypatch.setattr(provider._passwords, "verify", spy)
    await provider.authenticate("nobody", "wrong-password")
    await provider.authenticate("ann", "wrong-password")
    assert checked[0] is None and checked[1] is not None and len(checked) == 2


def test_new_hashes_use_argon2id_with_the_recommended_cost(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real cost, not the cheap one of the other tests
    hashed = StoredPasswords().hash("a password")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_repr_hides_the_database_password() -> None:
    provider = DatabaseAuthProvider("postgresql+asyncpg://app:hunter2@db/app",
                                    jwt_secret=new_secret())
    assert "hunter2" not in repr(provider)


def test_the_provider_module_is_where_the_readme_says() -> None:
    assert database_auth.DatabaseAuthProvider is DatabaseAuthProvider


async def test_an_in_memory_sqlite_database_works_within_one_loop() -> None:
    provider = DatabaseAuthProvider("sqlite+aiosqlite://", jwt_secret=new_secret())
    try:
        user = await provider.create_user(ann())
        assert (await provider.authenticate("ann", "ann-password-1")).user == user
    finally:
        await provider.close()
