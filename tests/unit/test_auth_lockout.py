"""Login limits slow a guesser without locking the account's owner out.

Failures count per username *from one address* and per address: wrong passwords for a known
username sent from other addresses never stop its owner from signing in with the right one.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from numerous.apps.auth import BaseAuthProvider, CreateUserRequest, LoginLimits
from numerous.apps.auth._ratelimit import LoginLimiter
from numerous.apps.auth.providers import DatabaseAuthProvider, _hashing

from ._auth_support import PASSWORDS, env_provider, make_app, new_secret

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["env", "sqlite", "postgresql"])
async def provider(request: pytest.FixtureRequest, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BaseAuthProvider]:
    """EnvAuthProvider, or DatabaseAuthProvider on a SQLite file or the real PostgreSQL (its
    own tables for this test), with the users `ann` and `bob`."""
    if request.param == "env":
        yield env_provider()
        return
    from pwdlib.hashers.argon2 import Argon2Hasher

    monkeypatch.setattr(_hashing, "Argon2Hasher", functools.partial(
        Argon2Hasher, time_cost=1, memory_cost=1024, parallelism=1))
    url = (f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}" if request.param == "sqlite"
           else POSTGRES)
    database = DatabaseAuthProvider(url, jwt_secret=new_secret(),
                                    table_prefix=f"t{uuid.uuid4().hex[:12]}_")
    for name in ("ann", "bob"):
        await database.create_user(CreateUserRequest(username=name, password=PASSWORDS[name]))
    try:
        yield database
    finally:
        await database.drop_tables()
        await database.close()


Login = Callable[..., Any]


@pytest.fixture
def login_from(tmp_path: Path, provider: BaseAuthProvider) -> Login:
    """`await login_from(address, username, password)`: a JSON login from that address."""
    app = make_app(tmp_path, provider)

    async def login(address: str, username: str, password: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post("/api/auth/login",
                                json={"username": username, "password": password})

    return login


async def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(
        login_from: Login) -> None:
    for index in range(1, 6):
        answer = await login_from(f"203.0.113.{index}", "ann", "guess-guess")
        assert answer.status_code == 401
    owner = await login_from("198.51.100.7", "ann", PASSWORDS["ann"])
    assert owner.status_code == 200, "the right password from the owner's own address"
    assert owner.json()["user"]["username"] == "ann"


async def test_a_guesser_that_keeps_going_does_not_lock_the_owner_out(
        login_from: Login) -> None:
    for index in range(1, 6):
        await login_from(f"203.0.113.{index}", "ann", "guess-guess")
    for index in range(6, 10):  # one more a minute, as in the audit, each from a new address
        assert (await login_from(f"203.0.113.{index}", "ann", "guess-guess")).status_code == 401
        owner = await login_from("198.51.100.7", "ann", PASSWORDS["ann"])
        assert owner.status_code == 200


async def test_one_address_guessing_one_username_is_still_stopped(login_from: Login) -> None:
    for _ in range(5):
        assert (await login_from("203.0.113.1", "ann", "guess-guess")).status_code == 401
    blocked = await login_from("203.0.113.1", "ann", PASSWORDS["ann"])
    assert blocked.status_code == 429, "blocked there before the password is checked"
    assert 0 < int(blocked.headers["retry-after"]) <= 300
    assert (await login_from("203.0.113.1", "bob", PASSWORDS["bob"])).status_code == 200


async def test_parallel_guesses_from_many_addresses_are_limited_per_address(
        tmp_path: Path) -> None:
    provider = env_provider()
    app = make_app(tmp_path, provider)
    checked = 0
    sign_in = provider.sign_in

    async def counting(username: str, password: str) -> Any:
        nonlocal checked
        checked += 1
        return await sign_in(username, password)
    provider.sign_in = counting  # type: ignore[method-assign]

    async def guess(address: str, index: int) -> int:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            answer = await c.post("/api/auth/login",
                                  json={"username": "ann", "password": f"guess{index}"})
            return answer.status_code

    codes = await asyncio.gather(*(guess(f"203.0.113.{i % 3}", i) for i in range(60)))
    assert checked <= 15 and codes.count(429) >= 45, (checked, codes)


def test_ipv6_addresses_count_per_64_network() -> None:
    limiter = LoginLimiter(LoginLimits(per_username=3, per_address=100))
    for host in range(3):  # a fresh address for each guess, all in one subscriber's /64
        limiter.failed("ann", f"2001:db8:1:2::{host + 1}")
    assert limiter.retry_after("ann", "2001:db8:1:2:ffff::9") is not None
    assert limiter.retry_after("ann", "2001:db8:1:3::1") is None, "another network"
    limiter.failed("bob", "::ffff:192.0.2.1")
    limiter.failed("bob", "192.0.2.1")
    limiter.failed("bob", "192.0.2.1")
    assert limiter.retry_after("bob", "192.0.2.1") is not None, "IPv4 in IPv6 form is itself"
    assert limiter.retry_after("bob", "192.0.2.2") is None
