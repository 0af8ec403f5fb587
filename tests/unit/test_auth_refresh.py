"""Refresh: rotation, reuse detection, expired and forged tokens, returning browsers, and the
login rate limit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt

from numerous.apps.auth import LoginLimits, User
from numerous.apps.auth._tokens import TokenIssuer

from ._auth_support import (
    PAGE,
    PASSWORDS,
    cookie_headers,
    env_provider,
    login,
    make_app,
    new_secret,
    put_cookie,
    )



def test_refresh_rotates_both_tokens(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    old_access, old_refresh = client.cookies["access_token"], client.cookies["refresh_token"]
    response = client.post("/api/auth/refresh")
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "ann"
    assert set(cookie_headers(response)) >= {"access_token", "refresh_token"}
    assert client.cookies["refresh_token"] != old_refresh
    assert client.cookies["access_token"] != old_access
    assert old_refresh not in response.text


def test_a_reused_refresh_token_is_refused_and_revokes_its_family(tmp_path: Path,
                                                                  served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    stolen = client.cookies["refresh_token"]
    assert client.post("/api/auth/refresh").status_code == 200
    rotated = client.cookies["refresh_token"]

    thief = served(client.app)
    put_cookie(thief, "refresh_token", stolen, path="/api/auth")
    refused = thief.post("/api/auth/refresh")
    assert refused.status_code == 401
    assert "max-age=0" in cookie_headers(refused)["refresh_token"].lower()

    put_cookie(client, "refresh_token", rotated, path="/api/auth")
    assert client.post("/api/auth/refresh").status_code == 401, "the whole family is revoked"


def test_a_reuse_grace_lets_two_racing_refreshes_both_succeed(tmp_path: Path,
                                                              served: Any) -> None:
    client = served(make_app(tmp_path, env_provider(refresh_reuse_grace=30)))
    login(client, "ann")
    first = client.cookies["refresh_token"]
    assert client.post("/api/auth/refresh").status_code == 200
    put_cookie(client, "refresh_token", first, path="/api/auth")
    assert client.post("/api/auth/refresh").status_code == 200


def test_an_access_token_cannot_refresh_and_a_refresh_token_cannot_sign_pages(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    access, refresh = client.cookies["access_token"], client.cookies["refresh_token"]
    client.cookies.clear()
    put_cookie(client, "refresh_token", access, path="/api/auth")
    assert client.post("/api/auth/refresh").status_code == 401
    client.cookies.clear()
    put_cookie(client, "access_token", refresh)
    assert client.get("/api/auth/me").status_code == 401
    assert client.get("/", headers=PAGE).status_code == 303


def _forge(secret: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "ann", "username": "ann", "type": "access", "iat": now, "exp": now + 900,
            "jti": "j" * 22, **claims}
    return jwt.encode(body, secret, algorithm="HS256")


def test_expired_tampered_foreign_and_unsigned_access_tokens_are_refused(
        tmp_path: Path, served: Any) -> None:
    secret = new_secret()
    client = served(make_app(tmp_path, env_provider(jwt_secret=secret)))
    good = _forge(secret)
    header, _payload, signature = good.split(".")
    tokens = {
        "expired": _forge(secret, iat=int(time.time()) - 2000, exp=int(time.time()) - 1000),
        "foreign": _forge(new_secret()),
        "tampered": f"{header}.{_forge(secret, sub='root').split('.')[1]}.{signature}",
        "alg none": jwt.encode({"sub": "ann", "username": "ann", "type": "access",
                                "iat": int(time.time()), "exp": int(time.time()) + 900,
                                "jti": "j" * 22}, key="", algorithm="none"),
    }
    put_cookie(client, "access_token", good)
    assert client.get("/api/auth/me").status_code == 200, "the forging helper is right"
    for name, token in tokens.items():
        client.cookies.clear()
        put_cookie(client, "access_token", token)
        assert client.get("/api/auth/me").status_code == 401, name
        assert client.get("/", headers=PAGE).status_code == 303, name
        assert client.get("/numerous/assets/x.js").status_code == 401, name


def test_a_token_for_a_user_who_no_longer_exists_is_refused(tmp_path: Path,
                                                            served: Any) -> None:
    secret = new_secret()
    client = served(make_app(tmp_path, env_provider(jwt_secret=secret)))
    put_cookie(client, "access_token", _forge(secret, sub="ghost", username="ghost"))
    assert client.get("/api/auth/me").status_code == 401


def test_an_expired_access_token_is_renewed_by_refresh(tmp_path: Path, served: Any) -> None:
    provider = env_provider()
    client = served(make_app(tmp_path, provider))
    login(client, "ann")
    expired = provider.tokens.issue(User(id="ann", username="ann"), "access",
                                    now=time.time() - 1000)
    put_cookie(client, "access_token", expired.token)
    assert client.get("/api/auth/me").status_code == 401
    assert client.post("/api/auth/refresh").status_code == 200
    assert client.get("/api/auth/me").status_code == 200


def test_an_expired_refresh_token_is_refused(tmp_path: Path, served: Any) -> None:
    provider = env_provider()
    client = served(make_app(tmp_path, provider))
    login(client, "ann")
    issuer = TokenIssuer(provider.jwt_secret, access_lifetime=900, refresh_lifetime=10)
    old = issuer.issue(User(id="ann", username="ann"), "refresh", now=time.time() - 100)
    put_cookie(client, "refresh_token", old.token, path="/api/auth")
    assert client.post("/api/auth/refresh").status_code == 401


def test_a_returning_browser_is_refreshed_instead_of_asked_to_sign_in(tmp_path: Path,
                                                                      served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    client.cookies.delete("access_token")  # expired while the browser was closed
    to_login = client.get("/?x=1", headers=PAGE)
    assert to_login.headers["location"] == "/login?next=%2F%3Fx%3D1"
    to_refresh = client.get(to_login.headers["location"])
    assert to_refresh.status_code == 303
    assert to_refresh.headers["location"] == "/api/auth/refresh?next=%2F%3Fx%3D1"
    back = client.get(to_refresh.headers["location"])
    assert back.status_code == 303 and back.headers["location"] == "/?x=1"
    assert client.get("/?x=1", headers=PAGE).status_code == 200


def test_a_returning_browser_with_a_dead_refresh_token_gets_the_form_once(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    put_cookie(client, "numerous_auth", "1")
    put_cookie(client, "refresh_token", "garbage", path="/api/auth")
    to_refresh = client.get("/login?next=/")
    back = client.get(to_refresh.headers["location"])
    assert back.headers["location"] == "/login?next=%2F&expired=1"
    assert "numerous_auth" in cookie_headers(back)
    page = client.get(back.headers["location"])
    assert page.status_code == 200 and "expired" in page.text


def test_a_cross_site_page_load_does_not_rotate_the_refresh_token(tmp_path: Path,
                                                                  served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    before = client.cookies["refresh_token"]
    cross_site = {**PAGE, "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}
    refused = client.get("/api/auth/refresh?next=/x", headers=cross_site)
    assert refused.status_code == 303
    assert refused.headers["location"] == "/login?next=%2Fx"
    assert "set-cookie" not in refused.headers
    assert client.cookies["refresh_token"] == before
    # The refresh token still works for the site itself.
    assert client.post("/api/auth/refresh").status_code == 200


def test_a_cross_site_load_of_the_login_page_shows_the_form_instead_of_refreshing(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    client.cookies.delete("access_token")
    cross_site = {**PAGE, "sec-fetch-site": "cross-site"}
    page = client.get("/login?next=/", headers=cross_site)
    assert page.status_code == 200 and 'name="password"' in page.text
    same_site = client.get("/login?next=/", headers={**PAGE, "sec-fetch-site": "same-origin"})
    assert same_site.headers["location"] == "/api/auth/refresh?next=%2F"


def test_a_password_guesser_hits_the_limit_with_retry_after(tmp_path: Path,
                                                           served: Any) -> None:
    provider = env_provider(login_limits=LoginLimits(per_username=3, per_address=100))
    client = served(make_app(tmp_path, provider))
    for _ in range(3):
        assert login(client, "ann", "guess-guess").status_code == 401
    blocked = login(client, "ann", PASSWORDS["ann"])
    assert blocked.status_code == 429, "blocked before the password is even checked"
    assert 0 < int(blocked.headers["retry-after"]) <= 300
    assert "Too many failed attempts" in blocked.json()["detail"]
    form = client.post("/api/auth/login", data={"username": "ann", "password": "x"})
    assert form.status_code == 429 and "Too many failed attempts" in form.text
    assert form.headers["retry-after"]
    assert login(client, "bob").status_code == 200, "other users are not locked out"


async def test_parallel_guesses_get_no_more_password_checks_than_the_limit(
        tmp_path: Path) -> None:
    import asyncio

    import httpx

    provider = env_provider(login_limits=LoginLimits(per_username=5, per_address=1000))
    app = make_app(tmp_path, provider)
    checked = 0
    sign_in = provider.sign_in

    async def counting(username: str, password: str) -> Any:
        nonlocal checked
        checked += 1
        return await sign_in(username, password)
    provider.sign_in = counting  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answers = await asyncio.gather(*(
            client.post("/api/auth/login", json={"username": "ann", "password": f"guess{i}"})
            for i in range(40)))
    codes = [answer.status_code for answer in answers]
    assert checked <= 5 and codes.count(401) <= 5, (checked, codes)
    assert codes.count(429) >= 35


def test_an_address_guessing_many_usernames_hits_the_limit(tmp_path: Path,
                                                           served: Any) -> None:
    provider = env_provider(login_limits=LoginLimits(per_username=100, per_address=4))
    client = served(make_app(tmp_path, provider))
    for name in ("a1", "a2", "a3", "a4"):
        assert login(client, name, "guess-guess").status_code == 401
    assert login(client, "bob").status_code == 429
