"""combine_apps(shared_auth_provider=...): one sign-in serves every app; apps with their own
provider, and public apps, keep theirs."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from numerous.apps import combine_apps
from numerous.apps._assets import ASSETS
from numerous.apps.auth.providers.env_auth import EnvAuthProvider

from ._support import TestClient, make_app

SECRET = secrets.token_hex(32)
PAGE = {"Accept": "text/html"}  # a browser's page load (other requests get 401, not a redirect)


def provider(password: str = "ann-password-1") -> EnvAuthProvider:
    return EnvAuthProvider(users=[{"username": "ann", "password": password}], jwt_secret=SECRET)


def test_one_sign_in_serves_every_app(tmp_path: Path) -> None:
    main = combine_apps({"/one": make_app(tmp_path / "one"), "/two": make_app(tmp_path / "two")},
                        shared_auth_provider=provider())
    with TestClient(main, base_url="http://127.0.0.1") as client:
        for prefix in ("/one/", "/two/"):
            response = client.get(prefix, headers=PAGE, follow_redirects=False)
            assert response.status_code in (302, 303, 307)
            assert f"{prefix.rstrip('/')}/login" in response.headers["location"]
        signed_in = client.post("/one/api/auth/login",
                                json={"username": "ann", "password": "ann-password-1"},
                                headers={"Origin": "http://127.0.0.1"})
        assert signed_in.status_code == 200, signed_in.text
        cookies = {c.name: c.path for c in client.cookies.jar}
        assert cookies["access_token"] == "/" and cookies["refresh_token"] == "/"
        for prefix in ("/one/", "/two/"):
            page = client.get(prefix)
            assert page.status_code == 200 and 'data-numerous-widget="counter"' in page.text
        assert client.get("/two/api/auth/me").json()["user"]["username"] == "ann"
        refreshed = client.post("/two/api/auth/refresh", headers={"Origin": "http://127.0.0.1"})
        assert refreshed.status_code == 200  # the refresh cookie reaches every app's auth API
        client.post("/two/api/auth/logout", headers={"Origin": "http://127.0.0.1"})
        assert client.get("/one/", headers=PAGE, follow_redirects=False).status_code in (302, 303, 307)


def test_the_shared_auth_api_is_also_served_once_at_the_root(tmp_path: Path) -> None:
    origin = {"Origin": "http://127.0.0.1"}
    one, two = make_app(tmp_path / "one"), make_app(tmp_path / "two")
    main = combine_apps({"/one": one, "/two": two,
                         "/open": make_app(tmp_path / "open", protected_routes=[])},
                        shared_auth_provider=provider())
    with TestClient(main, base_url="http://127.0.0.1") as client:
        login = client.get("/login?next=/two/", follow_redirects=False)
        assert login.status_code == 307 and login.headers["location"] == "/one/login?next=/two/"
        assert client.get("/api/auth/me").status_code == 401
        signed_in = client.post("/api/auth/login", headers=origin,
                                json={"username": "ann", "password": "ann-password-1"})
        assert signed_in.status_code == 200, signed_in.text
        cookies = {c.name: c.path for c in client.cookies.jar}
        assert cookies["access_token"] == "/" and cookies["refresh_token"] == "/"
        assert client.get("/api/auth/me").json()["user"]["username"] == "ann"
        for prefix in ("/one/", "/two/"):
            assert 'data-numerous-widget="counter"' in client.get(prefix).text
        sessions = [s for app in (one, two) for s in app.numerous.sessions]
        assert len(sessions) == 2
        assert client.post("/api/auth/refresh", headers=origin).status_code == 200
        # Signing out at the root ends this browser's sessions in every app.
        assert client.post("/api/auth/logout", headers=origin).status_code in (200, 303)
        assert all(session.closed for session in sessions)
        assert client.get("/two/", headers=PAGE, follow_redirects=False).status_code in (
            302, 303, 307)


def test_an_app_with_its_own_provider_keeps_it(tmp_path: Path) -> None:
    own = make_app(tmp_path / "own", auth_provider=provider("bob-password-1"))
    main = combine_apps({"/own": own, "/shared": make_app(tmp_path / "shared")},
                        shared_auth_provider=provider())
    with TestClient(main, base_url="http://127.0.0.1") as client:
        client.post("/shared/api/auth/login", json={"username": "ann",
                                                    "password": "ann-password-1"},
                    headers={"Origin": "http://127.0.0.1"})
        assert client.get("/shared/").status_code == 200
        # Same secret and user name, but its own provider: its own users and password.
        refused = client.post("/own/api/auth/login", json={"username": "ann",
                                                           "password": "ann-password-1"},
                              headers={"Origin": "http://127.0.0.1"})
        assert refused.status_code == 401


def test_public_and_protected_apps_side_by_side(tmp_path: Path) -> None:
    main = combine_apps({"/public": make_app(tmp_path / "p"),
                         "/admin": make_app(tmp_path / "a", auth_provider=provider())})
    with TestClient(main, base_url="http://127.0.0.1") as client:
        assert client.get("/public/").status_code == 200
        assert client.get("/admin/", headers=PAGE, follow_redirects=False).status_code in (302, 303, 307)


def test_an_apps_widget_code_is_served_only_under_its_own_prefix(tmp_path: Path) -> None:
    """One asset store serves the process; each app's route serves what its sessions use."""
    main = combine_apps({"/public": make_app(tmp_path / "p"),
                         "/admin": make_app(tmp_path / "a", auth_provider=provider())})
    secret = ASSETS.register("export default { render() {} } // only for the admin app", "js")
    with TestClient(main, base_url="http://127.0.0.1") as client:
        page = client.get("/public/").text
        own = re.findall(r"/public/numerous/assets/([0-9a-f]+\.(?:js|css))", page)
        assert own and all(client.get(f"/public/numerous/assets/{name}").status_code == 200
                           for name in own)
        assert client.get(f"/public/numerous/assets/{secret}").status_code == 404
