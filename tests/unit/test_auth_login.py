"""Signing in and out over HTTP: the login page, cookies, redirects and their safety."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from numerous.apps import SecurityPolicy, combine_apps
from numerous.apps.auth import User

from ._auth_support import (
    PAGE,
    PASSWORDS,
    cookie_headers,
    env_provider,
    login,
    make_app,
    put_cookie,
    )



def test_a_page_load_without_sign_in_goes_to_the_login_page(tmp_path: Path,
                                                           served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    response = client.get("/?tab=2", headers=PAGE)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + quote("/?tab=2", safe="")
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert 'action="/api/auth/login"' in page.text
    assert 'name="next" value="/?tab=2"' in page.text


def test_other_requests_without_sign_in_get_401(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    assert client.get("/").status_code == 401, "not a page load (no text/html accepted)"
    assert client.get("/numerous/assets/x.js").status_code == 401
    assert client.get("/static/x.css").status_code == 401
    assert client.post("/", headers=PAGE).status_code == 401
    assert client.get("/numerous/base.css").status_code == 200, "the login page needs it"


def test_a_form_login_sets_httponly_cookies_and_goes_to_next(tmp_path: Path,
                                                            served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    response = client.post("/api/auth/login", data={
        "username": "ann", "password": PASSWORDS["ann"], "next": "/?tab=2"})
    assert response.status_code == 303
    assert response.headers["location"] == "/?tab=2"
    cookies = cookie_headers(response)
    access, refresh = cookies["access_token"].lower(), cookies["refresh_token"].lower()
    for header in (access, refresh):
        assert "httponly" in header and "samesite=lax" in header and "secure" not in header
    assert "path=/;" in access and "max-age=900" in access
    assert "path=/api/auth" in refresh and "max-age=604800" in refresh
    page = client.get("/", headers=PAGE)
    assert page.status_code == 200 and 'data-numerous-widget="counter"' in page.text
    assert page.headers["cache-control"] == "no-store"


def test_a_json_login_answers_with_the_user_and_never_a_token(tmp_path: Path,
                                                              served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    response = login(client, "ann")
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": "ann", "username": "ann", "email": "a@x.org",
                            "roles": ["viewer"], "is_admin": False}
    assert body["access_expires_in"] == 900
    token = client.cookies["access_token"]
    assert token not in response.text
    assert "token" not in " ".join(body).replace("expires", "")
    assert client.get("/api/auth/me").json()["user"]["username"] == "ann"


def test_wrong_password_and_unknown_user_get_the_same_answer(tmp_path: Path,
                                                             served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    wrong = login(client, "ann", "wrong-password")
    unknown = login(client, "nobody", "wrong-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "Invalid username or password"}
    assert "set-cookie" not in wrong.headers


def test_a_failed_form_login_shows_the_form_again_with_the_message(tmp_path: Path,
                                                                   served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    response = client.post("/api/auth/login", data={
        "username": "<b>ann</b>", "password": "wrong-password", "next": "/x"})
    assert response.status_code == 401
    assert "Invalid username or password" in response.text
    assert "<b>ann</b>" not in response.text and "&lt;b&gt;ann&lt;/b&gt;" in response.text
    assert 'name="next" value="/x"' in response.text


@pytest.mark.parametrize("body,status", [
    ({"username": "ann"}, 400), ({"password": "x"}, 400), ({"username": 1, "password": "x"}, 400),
])
def test_malformed_json_logins_are_refused(tmp_path: Path, served: Any, body: Any,
                                           status: int) -> None:
    client = served(make_app(tmp_path, env_provider()))
    assert client.post("/api/auth/login", json=body).status_code == status
    assert client.post("/api/auth/login", content=b"[1]",
                       headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/api/auth/login", content=b"{",
                       headers={"content-type": "application/json"}).status_code == 400
    assert client.post("/api/auth/login", content=b"x",
                       headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/api/auth/login", content=b"x" * 70_000,
                       headers={"content-type": "application/json"}).status_code == 413


@pytest.mark.parametrize("target", [
    "//evil.com", "//evil.com/path", "/\\evil.com", "\\\\evil.com", "https://evil.com",
    "javascript:alert(1)", "/\t/evil.com", "http:evil.com", "%2F%2Fevil.com",
])
def test_next_never_leads_off_the_site(tmp_path: Path, served: Any, target: str) -> None:
    client = served(make_app(tmp_path, env_provider()))
    response = client.post("/api/auth/login", data={
        "username": "ann", "password": PASSWORDS["ann"], "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    page = client.get("/login", params={"next": target})
    assert "evil.com" not in page.text and "javascript:" not in page.text


def test_next_is_escaped_in_the_login_page(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    attack = '/"><script>alert(1)</script>'
    page = client.get("/login", params={"next": attack})
    assert "<script>alert(1)</script>" not in page.text
    attack = "/x?a=\"><img src=x onerror=alert(1)>"
    page = client.get("/login", params={"next": attack})
    assert "<img" not in page.text
    assert "&#34;&gt;&lt;img" in page.text or 'value="/"' in page.text


def test_a_custom_form_without_next_goes_back_to_the_page_it_came_from(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    response = client.post("/api/auth/login", data={
        "username": "ann", "password": PASSWORDS["ann"]},
        headers={"referer": "http://testserver/login?next=%2F%3Fpage%3D3"})
    assert response.headers["location"] == "/?page=3"


def test_the_login_page_sends_a_signed_in_browser_on(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    response = client.get("/login", params={"next": "/?a=1"})
    assert response.status_code == 303 and response.headers["location"] == "/?a=1"


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"origin": "http://testserver.evil.example"},
    {"referer": "https://evil.example/login"},
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site", "origin": "http://testserver"},
])
def test_cross_site_state_changes_are_refused(tmp_path: Path, served: Any,
                                              headers: dict[str, str]) -> None:
    client = served(make_app(tmp_path, env_provider()))
    credentials = {"username": "ann", "password": PASSWORDS["ann"]}
    assert client.post("/api/auth/login", data=credentials, headers=headers).status_code == 403
    assert client.post("/api/auth/login", json=credentials, headers=headers).status_code == 403
    login(client, "ann")
    assert client.post("/api/auth/refresh", headers=headers).status_code == 403
    assert client.post("/api/auth/logout", headers=headers).status_code == 403
    assert client.get("/api/auth/me").status_code == 200, "still signed in"


def test_same_origin_requests_are_accepted(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    headers = {"origin": "http://testserver", "sec-fetch-site": "same-origin",
               "referer": "http://testserver/login"}
    credentials = {"username": "ann", "password": PASSWORDS["ann"]}
    assert client.post("/api/auth/login", json=credentials, headers=headers).status_code == 200
    assert client.post("/api/auth/refresh", headers=headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 303


def test_logout_revokes_and_clears_the_cookies(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    refresh_token = client.cookies["refresh_token"]
    response = client.post("/api/auth/logout", headers={"accept": "application/json"})
    assert response.status_code == 200
    cleared = cookie_headers(response)
    assert set(cleared) == {"access_token", "refresh_token", "numerous_auth"}
    assert all('max-age=0' in header.lower() for header in cleared.values())
    assert client.get("/api/auth/me").status_code == 401
    assert client.get("/", headers=PAGE).status_code == 303
    put_cookie(client, "refresh_token", refresh_token, path="/api/auth")
    assert client.post("/api/auth/refresh").status_code == 401, "the refresh token is revoked"


def test_a_form_logout_goes_to_the_login_page(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    response = client.post("/api/auth/logout", data={})
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_check_and_me(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    assert client.get("/api/auth/check").json() == {"authenticated": False}
    assert client.get("/api/auth/me").status_code == 401
    login(client, "root")
    check = client.get("/api/auth/check").json()
    assert check["authenticated"] is True and 890 <= check["access_expires_in"] <= 900
    me = client.get("/api/auth/me")
    assert me.headers["cache-control"] == "no-store"
    assert me.json()["user"]["is_admin"] is True


def test_cookies_are_secure_over_https(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()), base_url="https://testserver")
    response = login(client, "ann")
    assert all("secure" in h.lower() for h in cookie_headers(response).values())
    assert client.get("/", headers=PAGE).status_code == 200


def test_cookies_are_secure_behind_a_trusted_https_proxy(tmp_path: Path, served: Any) -> None:
    app = ProxyHeadersMiddleware(cast(Any, make_app(tmp_path, env_provider())),
                                 trusted_hosts="*")
    client = served(app)
    response = client.post("/api/auth/login", json={"username": "ann",
                                                    "password": PASSWORDS["ann"]},
                           headers={"x-forwarded-proto": "https",
                                    "origin": "https://testserver"})
    assert response.status_code == 200
    assert all("secure" in h.lower() for h in cookie_headers(response).values())


def test_cookies_can_be_forced_secure_behind_a_proxy_that_says_nothing(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider(secure_cookies=True)))
    response = login(client, "ann")
    assert all("secure" in h.lower() for h in cookie_headers(response).values())


def test_the_page_loads_the_auth_module(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider()))
    login(client, "ann")
    page = client.get("/", headers=PAGE).text
    match = re.search(r'<script type="module" src="(/numerous/js/[^"]+/auth\.js)"></script>', page)
    assert match is not None, page
    script = client.get(match.group(1))
    assert script.status_code == 200 and "numerousAuth" in script.text
    assert "private" in script.headers["cache-control"], "shared caches must not keep it"
    assert client.get(match.group(1).replace("auth.js", "main.js")).status_code == 200


def test_the_app_mounted_under_a_prefix_keeps_its_cookies_and_urls_there(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, env_provider(), path_prefix="/app1")
    main: FastAPI = combine_apps({"/app1": app})
    client = served(main)
    response = client.get("/app1/", headers=PAGE)
    assert response.headers["location"] == "/app1/login?next=%2Fapp1%2F"
    page = client.get(response.headers["location"])
    assert 'action="/app1/api/auth/login"' in page.text
    assert 'href="/app1/numerous/base.css"' in page.text
    response = client.post("/app1/api/auth/login", data={
        "username": "ann", "password": PASSWORDS["ann"], "next": "/app1/"})
    assert response.headers["location"] == "/app1/"
    cookies = cookie_headers(response)
    assert "path=/app1;" in cookies["access_token"].lower()
    assert "path=/app1/api/auth" in cookies["refresh_token"].lower()
    assert client.get("/app1/", headers=PAGE).status_code == 200
    assert client.post("/app1/api/auth/refresh").status_code == 200
    assert client.post("/app1/api/auth/logout",
                       headers={"accept": "application/json"}).status_code == 200
    assert client.get("/app1/", headers=PAGE).status_code == 303


def test_the_login_page_follows_the_apps_security_policy(tmp_path: Path, served: Any) -> None:
    policy = SecurityPolicy(frame_ancestors="'none'")
    provider = env_provider()
    client = served(make_app(tmp_path, provider.require(roles=["viewer"]), security=policy))
    page = client.get("/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # bob may not use this app: the gate middleware, not the route, answers with the page
    put_cookie(client, "access_token", provider.tokens.issue(
        User(id="bob", username="bob"), "access").token)
    forbidden = client.get("/", headers=PAGE)
    assert forbidden.status_code == 403 and "does not have access" in forbidden.text
    assert forbidden.headers["x-frame-options"] == "DENY"
    assert forbidden.headers["cache-control"] == "no-store"


def test_a_custom_login_template_from_the_app_folder(tmp_path: Path, served: Any) -> None:
    (tmp_path / "my_login.html.j2").write_text(
        '<form method="post" action="/api/auth/login"><p class="custom">{{ error_message }}'
        '</p><input name="username"><input name="password" type="password"></form>')
    client = served(make_app(tmp_path, env_provider(), login_template="my_login.html.j2"))
    assert 'class="custom"' in client.get("/login").text
    failed = client.post("/api/auth/login", data={"username": "ann", "password": "nope-nope"})
    assert failed.status_code == 401 and "Invalid username or password" in failed.text


def test_the_builtin_login_page_is_overridden_from_templates(tmp_path: Path,
                                                             served: Any) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "login.html.j2").write_text("OVERRIDDEN {{ next }}")
    client = served(make_app(tmp_path, env_provider()))
    assert client.get("/login?next=/x").text == "OVERRIDDEN /x"


def test_a_missing_custom_login_template_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.html.j2"):
        make_app(tmp_path, env_provider(), login_template="nope.html.j2")


def test_no_tokens_or_passwords_in_the_logs(tmp_path: Path, served: Any,
                                            caplog: pytest.LogCaptureFixture) -> None:
    client = served(make_app(tmp_path, env_provider()))
    with caplog.at_level(logging.DEBUG):
        login(client, "ann", "wrong-password")
        login(client, "ann")
        client.post("/api/auth/refresh")
        client.post("/api/auth/logout")
    text = caplog.text
    assert "ann" in text, "sign-ins are logged"
    for secret in ("wrong-password", PASSWORDS["ann"], "eyJ"):
        assert secret not in text
