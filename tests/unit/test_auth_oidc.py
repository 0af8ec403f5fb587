"""OIDCAuthProvider over HTTP, against the in-process provider of _oidc_idp: signing in and
out, users and roles from claims, the allow-list, and every attack the flow must refuse."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx2 as httpx
import pytest
from fastapi import FastAPI

from numerous.apps import combine_apps, create_app, current_user
from numerous.apps.auth.providers.oidc_auth import ClaimMapping, OIDCAuthProvider

from ._oidc_idp import CLIENT_ID, CLIENT_SECRET, ISSUER, FakeIdP, _new_key, unsigned
from ._auth_support import (
    PAGE,
    PASSWORDS,
    TestClient,
    env_provider,
    make_app,
    new_secret,
    put_cookie,
)
from ._support import run_counter

ANN = {"sub": "u-ann", "preferred_username": "ann", "email": "ann@acme.com",
       "email_verified": True, "name": "Ann A.", "groups": ["analysts", "admins"]}
EVE = {"sub": "u-eve", "preferred_username": "eve", "email": "eve@elsewhere.org",
       "email_verified": True, "groups": []}
JSON = {"accept": "application/json"}


@pytest.fixture
def idp() -> FakeIdP:
    return FakeIdP()


def oidc(idp: FakeIdP, **options: Any) -> OIDCAuthProvider:
    options.setdefault("jwt_secret", new_secret())
    options.setdefault("allow_domains", ["acme.com"])
    options.setdefault("claims", ClaimMapping(admin_roles=("admins",)))
    return OIDCAuthProvider(issuer=ISSUER, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                            label="Acme", transport=idp.transport, **options)


def start(client: TestClient, next_url: str = "/", base: str = "") -> str:
    response = client.get(f"{base}/api/auth/oidc/start?next={quote(next_url, safe='')}")
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def sign_in(client: TestClient, idp: FakeIdP, claims: dict[str, Any], next_url: str = "/",
            base: str = "") -> Any:
    code, state = idp.authorize(start(client, next_url, base), claims)
    return client.get(f"{base}/api/auth/oidc/callback?code={code}&state={state}")


def test_the_login_page_offers_the_provider_alone_or_beside_the_form(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    alone = served(make_app(tmp_path, oidc(idp))).get("/login?next=/x")
    assert 'href="/api/auth/oidc/start?next=%2Fx"' in alone.text
    assert "Sign in with Acme" in alone.text and 'name="password"' not in alone.text
    both = served(make_app(tmp_path, oidc(idp, password_provider=env_provider())))
    page = both.get("/login")
    assert "Sign in with Acme" in page.text and 'name="password"' in page.text
    signed = both.post("/api/auth/login", json={"username": "ann",
                                                "password": PASSWORDS["ann"]})
    assert signed.status_code == 200 and signed.json()["user"]["username"] == "ann"
    assert both.get("/", headers=PAGE).status_code == 200


def test_start_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    location = start(client)
    assert location.startswith(f"{ISSUER}/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["redirect_uri"] == "http://testserver/api/auth/oidc/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert "openid" in query["scope"].split()
    flow = [c for c in client.cookies.jar if c.name.startswith("numerous_oidc_")]
    assert len(flow) == 1 and flow[0].path == "/api/auth/oidc"
    assert query["state"] not in flow[0].value, "the cookie is signed, not the plain state"


def test_a_sign_in_maps_claims_to_the_user_and_lands_on_next(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    response = sign_in(client, idp, ANN, "/?tab=2")
    assert response.status_code == 303 and response.headers["location"] == "/?tab=2"
    assert not [c for c in client.cookies.jar if c.name.startswith("numerous_oidc_")]
    user = client.get("/api/auth/me").json()["user"]
    assert user == {"id": "oidc:u-ann", "username": "ann", "email": "ann@acme.com",
                    "roles": ["analysts", "admins"], "is_admin": True}
    assert client.get("/", headers=PAGE).status_code == 200
    assert client.post("/api/auth/refresh").status_code == 200, "refresh works as for others"
    assert client.get("/api/auth/me").json()["user"]["username"] == "ann"


def test_the_users_claims_reach_the_app(tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    seen: dict[str, Any] = {}

    def run() -> dict[str, Any]:
        user = current_user()
        seen["claims"] = user.metadata["claims"] if user is not None else None
        return run_counter()

    app = make_app(tmp_path, oidc(idp), app_generator=run)
    client = served(app)
    sign_in(client, idp, ANN)
    assert client.get("/", headers=PAGE).status_code == 200
    assert seen["claims"]["name"] == "Ann A."
    assert seen["claims"]["groups"] == ["analysts", "admins"]
    session = next(iter(app.numerous.sessions))
    assert session.widgets["counter"].owner == "ann"
    assert session.user.metadata["display_name"] == "Ann A."


def test_userinfo_completes_claims_the_id_token_lacks(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    idp.userinfo_claims = {"sub": "u-carl", "email": "carl@acme.com", "groups": ["analysts"]}
    assert sign_in(client, idp, {"sub": "u-carl"}).status_code == 303
    user = client.get("/api/auth/me").json()["user"]
    assert user["email"] == "carl@acme.com" and user["roles"] == ["analysts"]


def test_someone_outside_the_allow_list_is_refused_with_a_clear_page(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    response = sign_in(client, idp, EVE)
    assert response.status_code == 403
    assert "eve@elsewhere.org may not sign in to this app" in response.text
    assert "access_token" not in client.cookies
    unverified = {**ANN, "sub": "u-x", "email_verified": False, "groups": []}
    assert sign_in(client, idp, unverified).status_code == 403, "an unverified email is no proof"
    by_group = served(make_app(tmp_path, oidc(idp, allow_domains=[], allow_groups=["analysts"])))
    assert sign_in(by_group, idp, {**EVE, "groups": ["analysts"]}).status_code == 303


def test_sign_out_ends_the_session_here_and_at_the_provider(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    sign_in(client, idp, ANN)
    refresh = client.cookies.get("refresh_token")
    response = client.post("/api/auth/logout", headers=JSON)
    assert response.status_code == 200
    redirect = urlsplit(response.json()["redirect"])
    assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == f"{ISSUER}/session/end"
    query = parse_qs(redirect.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert query["client_id"] == [CLIENT_ID] and query["id_token_hint"]
    assert client.get("/", headers=PAGE).status_code == 303
    client.cookies.set("refresh_token", refresh or "", path="/api/auth")
    assert client.post("/api/auth/refresh").status_code == 401, "the refresh token is revoked"
    sign_in(client, idp, ANN)
    form = client.post("/api/auth/logout", data={})
    assert form.status_code == 200 and f'content="0;url={ISSUER}/session/end?' in form.text
    assert "access_token" in form.headers["set-cookie"], "the cookies are cleared all the same"
    assert client.get("/", headers=PAGE).status_code == 303


def test_a_password_users_sign_out_stays_here(tmp_path: Path, idp: FakeIdP,
                                              served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp, password_provider=env_provider())))
    client.post("/api/auth/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    response = client.post("/api/auth/logout", headers=JSON)
    assert response.status_code == 200 and "redirect" not in response.json()


# --- attacks ------------------------------------------------------------------------------------


def refused(response: Any) -> bool:
    return response.status_code >= 400 and "access_token" not in response.headers.get(
        "set-cookie", "")


def test_a_callback_without_or_with_a_wrong_state_is_refused(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    code, state = idp.authorize(start(client), ANN)
    assert refused(client.get(f"/api/auth/oidc/callback?code={code}"))
    assert refused(client.get(f"/api/auth/oidc/callback?code={code}&state=x{state}"))
    response = client.get(f"/api/auth/oidc/callback?code={code}&state={state}")
    assert response.status_code == 303, "the right state still works"


def test_login_csrf_a_callback_started_by_another_browser_is_refused(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    app = make_app(tmp_path, oidc(idp))
    attacker, victim = served(app), served(app)
    code, state = idp.authorize(start(attacker), EVE | {"email": "mallory@acme.com"})
    response = victim.get(f"/api/auth/oidc/callback?code={code}&state={state}")
    assert refused(response) and "sign in again" in response.text
    assert victim.get("/api/auth/me").status_code == 401


def test_a_replayed_callback_is_refused(tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    code, state = idp.authorize(start(client), ANN)
    flow = {c.name: c.value for c in client.cookies.jar if c.name.startswith("numerous_oidc_")}
    assert client.get(f"/api/auth/oidc/callback?code={code}&state={state}").status_code == 303
    client.cookies.clear()
    for name, value in flow.items():
        client.cookies.set(name, value, path="/api/auth/oidc")
    assert refused(client.get(f"/api/auth/oidc/callback?code={code}&state={state}"))


def test_a_replayed_id_token_with_an_old_nonce_is_refused(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    captured: list[dict[str, Any]] = []
    idp.tamper = lambda claims: captured.append(claims) or claims
    assert sign_in(client, idp, ANN).status_code == 303
    client.cookies.clear()
    idp.tamper = lambda claims: {**claims, "nonce": captured[0]["nonce"]}
    assert refused(sign_in(client, idp, ANN))


@pytest.mark.parametrize("attack", ["another audience", "expired", "issued in the future",
                                    "another issuer", "no nonce", "no sub"])
def test_an_id_token_with_bad_claims_is_refused(tmp_path: Path, idp: FakeIdP, served: Any,
                                                attack: str) -> None:
    now = int(time.time())
    changes: dict[str, Any] = {
        "another audience": {"aud": "someone-else"},
        "expired": {"iat": now - 3600, "exp": now - 600},
        "issued in the future": {"iat": now + 3600, "exp": now + 7200},
        "another issuer": {"iss": "https://evil.example"},
        "no nonce": {"nonce": None},
        "no sub": {"sub": None},
    }[attack]
    idp.tamper = lambda claims: {k: v for k, v in {**claims, **changes}.items()
                                 if v is not None}
    client = served(make_app(tmp_path, oidc(idp)))
    assert refused(sign_in(client, idp, ANN))
    assert client.get("/api/auth/me").status_code == 401


def test_an_id_token_signed_by_an_unknown_key_or_none_is_refused(
        tmp_path: Path, idp: FakeIdP, served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    stranger = _new_key("k1")  # even one claiming a known key id
    idp.sign = lambda claims: idp.id_token(claims, stranger)
    assert refused(sign_in(client, idp, ANN))
    idp.sign = lambda claims: idp.id_token(claims, _new_key("k-unknown"))
    assert refused(sign_in(client, idp, ANN))
    idp.sign = unsigned
    assert refused(sign_in(client, idp, ANN))
    idp.sign = None
    assert sign_in(client, idp, ANN).status_code == 303


def test_a_rotated_key_is_fetched_and_trusted(tmp_path: Path, idp: FakeIdP,
                                              served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    assert sign_in(client, idp, ANN).status_code == 303
    fetches = idp.jwks_fetches
    idp.rotate()
    client.cookies.clear()
    assert sign_in(client, idp, ANN).status_code == 303
    assert idp.jwks_fetches == fetches + 1
    idp.sign = lambda claims: idp.id_token(claims, _new_key("k-unknown"))
    client.cookies.clear()
    assert refused(sign_in(client, idp, ANN))
    assert idp.jwks_fetches == fetches + 1, "unknown keys do not make us fetch again and again"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/",
                                    "/\\evil.example", "/\t/evil.example"])
def test_the_return_path_cannot_lead_off_site(tmp_path: Path, idp: FakeIdP, served: Any,
                                              target: str) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    response = sign_in(client, idp, ANN, target)
    assert response.status_code == 303 and response.headers["location"] == "/"


# --- where the app is served ------------------------------------------------------------------


def test_behind_a_prefix_the_flow_stays_under_it(tmp_path: Path, idp: FakeIdP,
                                                 served: Any) -> None:
    app = make_app(tmp_path, oidc(idp), path_prefix="/app1")
    client = served(combine_apps({"/app1": app}))
    page = client.get("/app1/login?next=/app1/")
    assert 'href="/app1/api/auth/oidc/start?next=%2Fapp1%2F"' in page.text
    location = start(client, "/app1/", base="/app1")
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Fapp1%2Fapi%2Fauth%2Foidc%2Fcallback" in location
    code, state = idp.authorize(location, ANN)
    response = client.get(f"/app1/api/auth/oidc/callback?code={code}&state={state}")
    assert response.status_code == 303 and response.headers["location"] == "/app1/"
    assert client.get("/app1/", headers=PAGE).status_code == 200


def test_a_shared_provider_signs_in_to_every_combined_app(tmp_path: Path, idp: FakeIdP) -> None:
    apps = {}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html.j2").write_text("<main>{{ counter }}</main>")
        apps[f"/{name}"] = create_app(template="index.html.j2", base_dir=tmp_path / name,
                                      app_generator=run_counter)
    main: FastAPI = combine_apps(apps, shared_auth_provider=oidc(idp))
    with TestClient(main, follow_redirects=False) as client:
        location = start(client, "/two/", base="/one")
        assert "redirect_uri=http%3A%2F%2Ftestserver%2Fapi%2Fauth%2Foidc%2Fcallback" in location
        code, state = idp.authorize(location, ANN)
        response = client.get(f"/api/auth/oidc/callback?code={code}&state={state}")
        assert response.status_code == 303 and response.headers["location"] == "/two/"
        for prefix in ("/one/", "/two/"):
            assert client.get(prefix, headers=PAGE).status_code == 200


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMEROUS_OIDC_ISSUER", "https://login.example/realms/acme")
    monkeypatch.setenv("NUMEROUS_OIDC_CLIENT_ID", "app")
    monkeypatch.setenv("NUMEROUS_OIDC_CLIENT_SECRET", "s")
    monkeypatch.setenv("NUMEROUS_OIDC_ALLOW_DOMAINS", "acme.com, @example.org")
    provider = OIDCAuthProvider(jwt_secret=new_secret())
    assert provider.oidc.client.issuer == "https://login.example/realms/acme"
    assert provider.oidc.client.client_id == "app" and provider.oidc.client.client_secret == "s"
    assert provider.oidc.allow_list.domains == ("acme.com", "example.org")
    monkeypatch.delenv("NUMEROUS_OIDC_ISSUER")
    with pytest.raises(ValueError, match="NUMEROUS_OIDC_ISSUER"):
        OIDCAuthProvider(jwt_secret=new_secret())


def test_an_unreachable_provider_gets_a_page_saying_so(tmp_path: Path, served: Any) -> None:
    down = httpx.MockTransport(lambda request: httpx.Response(503))
    provider = OIDCAuthProvider(issuer=ISSUER, client_id=CLIENT_ID, label="Acme",
                                jwt_secret=new_secret(), transport=down)
    client = served(make_app(tmp_path, provider))
    response = client.get("/api/auth/oidc/start?next=/")
    assert response.status_code == 502
    assert "Acme cannot be reached right now" in response.text


def test_a_sign_in_cancelled_at_the_provider_says_so(tmp_path: Path, idp: FakeIdP,
                                                     served: Any) -> None:
    client = served(make_app(tmp_path, oidc(idp)))
    _, state = idp.authorize(start(client), ANN)
    response = client.get(f"/api/auth/oidc/callback?error=access_denied&state={state}")
    assert response.status_code == 400 and "The sign-in was cancelled." in response.text
    assert "Sign in with Acme" in response.text, "with the button to try again"


# --- several instances: users and refresh tokens in a user store ----------------------------


def test_with_a_user_store_any_instance_knows_the_user(tmp_path: Path, idp: FakeIdP,
                                                       served: Any) -> None:
    from numerous.apps.auth.providers.database_auth import DatabaseAuthProvider

    secret, url = new_secret(), f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    instances = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        store = DatabaseAuthProvider(url, jwt_secret=secret)
        instances.append((store, served(make_app(tmp_path / name, oidc(
            idp, jwt_secret=secret, user_store=store, password_provider=store)))))
    (_, a), (_, b) = instances
    assert sign_in(a, idp, ANN).status_code == 303
    for cookie in a.cookies.jar:
        put_cookie(b, cookie.name, cookie.value or "", cookie.path)
    me = b.get("/api/auth/me")
    assert me.status_code == 200, "instance b knows whom instance a signed in"
    assert me.json()["user"]["username"] == "ann" and me.json()["user"]["is_admin"] is True
    assert b.post("/api/auth/refresh").status_code == 200, "and rotates their refresh token"
    user_id = me.json()["user"]["id"]
    a.cookies.clear()
    assert sign_in(a, idp, {**ANN, "groups": ["analysts"]}).status_code == 303
    again = a.get("/api/auth/me").json()["user"]
    assert again["id"] == user_id and again["roles"] == ["analysts"], "roles follow the claims"
    assert b.post("/api/auth/login", json={"username": f"oidc:{ANN['sub']}",
                                           "password": ""}).status_code in (400, 401)
    # An administrator disables them in the shared table: every instance refuses them.
    admin = DatabaseAuthProvider(url, jwt_secret=secret)
    assert asyncio.run(admin.disable_user(user_id))
    asyncio.run(admin.close())
    assert b.get("/api/auth/me").status_code == 401
    a.cookies.clear()
    assert sign_in(a, idp, ANN).status_code == 403
