"""The agent API under authentication: the same sign-in and the same session binding as pages."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any


from numerous.apps._client import CLIENT_COOKIE
from numerous.apps.auth.providers.env_auth import EnvAuthProvider

from ._agent_support import API, as_caller, config_of, make_app

USERS = [{"username": "ann", "password": "ann-password-1"},
         {"username": "bob", "password": "bob-password-1"}]
PASSWORDS = {user["username"]: user["password"] for user in USERS}
PAGE = {"accept": "text/html"}



def auth_app(tmp_path: Path, **kwargs: Any) -> Any:
    provider = EnvAuthProvider(users=USERS, jwt_secret=secrets.token_hex(32))
    return make_app(tmp_path, auth_provider=provider, **kwargs)


def login(client: Any, username: str) -> None:
    response = client.post("/api/auth/login", json={"username": username,
                                                    "password": PASSWORDS[username]})
    assert response.status_code == 200, response.text


def signed_in_cookies(client: Any) -> dict[str, str]:
    return dict(client.cookies)


def test_signed_out_callers_get_401(tmp_path: Path, served: Any) -> None:
    client = served(auth_app(tmp_path))
    response = client.post(f"{API}/sessions", json={})
    assert response.status_code == 401
    assert client.get(f"{API}/sessions/{'x' * 32}").status_code == 401
    assert client.post(f"{API}/mcp", json={}).status_code == 401


def test_a_signed_in_script_opens_and_drives_its_session(tmp_path: Path, served: Any) -> None:
    app = auth_app(tmp_path)
    client = served(app)
    login(client, "ann")
    opened = client.post(f"{API}/sessions", json={})
    assert opened.status_code == 201
    session = next(s for s in app.numerous.sessions if s.id == opened.json()["session"])
    assert session.user.username == "ann"
    assert "ann" in session.owner and client.cookies[CLIENT_COOKIE] in session.owner
    url = f"{API}/sessions/{session.id}/widgets/counter/traits/value"
    assert client.put(url, json={"value": 3}).json()["value"] == 3


def test_another_user_with_the_same_client_cookie_gets_404(tmp_path: Path,
                                                           served: Any) -> None:
    client = served(auth_app(tmp_path))
    login(client, "ann")
    session = client.post(f"{API}/sessions", json={}).json()["session"]
    login(client, "bob")  # same browser cookie, another user
    response = client.get(f"{API}/sessions/{session}")
    assert response.status_code == 404
    assert response.json()["detail"]["error"] == "unknown_session"


def test_an_attach_code_works_for_the_same_user_only(tmp_path: Path, served: Any) -> None:
    client = served(auth_app(tmp_path))
    login(client, "ann")
    page = config_of(client.get("/", headers=PAGE).text)
    code = client.post(f"{API}/sessions/{page['session']}/attach-code", json={}).json()["code"]
    other_code = client.post(f"{API}/sessions/{page['session']}/attach-code",
                             json={}).json()["code"]

    as_caller(client, {})  # a script on another machine: signs in as bob
    login(client, "bob")
    refused = client.post(f"{API}/attach", json={"code": code})
    assert refused.status_code == 404 and refused.json()["detail"]["error"] == "unknown_code"

    as_caller(client, {})  # the script signs in as ann, as it should
    login(client, "ann")
    assert client.post(f"{API}/attach", json={"code": code}).status_code == 404, "used up"
    attached = client.post(f"{API}/attach", json={"code": other_code})
    assert attached.status_code == 200 and attached.json()["session"] == page["session"]
    url = f"{API}/sessions/{page['session']}/widgets/counter/traits/value"
    assert client.put(url, json={"value": 5}).status_code == 200

    client.post("/api/auth/logout", json={})
    client.cookies.delete("access_token")
    assert client.get(url).status_code == 401, "signed out, the grant is of no use"
