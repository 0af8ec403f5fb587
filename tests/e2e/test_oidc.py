"""Single sign-on in real Chromium against a certified OpenID provider (the `oidc-provider`
package under Node.js, started on a free port with its own sign-in, consent and sign-out
pages): sign in, use the app across several access token lifetimes, sign out here and at the
provider; a user outside the allow-list is refused with a page saying so; the password form
works beside the button; and behind HAProxy under a path prefix, the provider's callback may
land on another instance than the one that started the sign-in, and with the users in a
shared database the browser may move between instances afterwards."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from numerous.apps.auth.providers.database_auth import DatabaseAuthProvider

from numerous.apps.testing import Server, free_port, spawn, wait_ready, wait_until_serving
from ._support import HAPROXY_CONFIG, INSTANCES, POSTGRES, PREFIX, haproxy_path, in_thread

HERE = Path(__file__).resolve().parent / "oidc"
ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "numerous-e2e", "e2e-client-secret"
ACCESS_SECONDS = 4
PAT = "pat-password-1"
IGNORED_CONSOLE = ("fonts.googleapis.com", "ERR_NAME_NOT_RESOLVED", "401")


def start_provider(app_urls: list[str]) -> Server:
    """oidc-provider on a free port, with a client for apps served at `app_urls`."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("the OpenID provider of these tests needs Node.js (node) on PATH")
    port = free_port()
    config = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
              "redirect_uris": [f"{url}/api/auth/oidc/callback" for url in app_urls],
              "post_logout_redirect_uris": [f"{url}/login" for url in app_urls]}
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("run `npm ci` first: the OpenID provider is an npm package")
    log = Path(tempfile.mkdtemp(prefix="numerous-oidc-")) / "provider.log"
    server = Server(spawn([node, str(HERE / "provider.mjs"), str(port), json.dumps(config)],
                          ROOT, log), f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the OpenID provider exited:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/.well-known/openid-configuration",
                         timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.stop()
    pytest.fail(f"the OpenID provider did not start:\n{server.output()}")


@pytest.fixture
def sso(serve: Any) -> Iterator[Callable[..., tuple[Server, Server]]]:
    """`sso(**env)`: the OpenID provider and the app using it, both on free ports."""
    providers: list[Server] = []

    def start(**env: str) -> tuple[Server, Server]:
        port = free_port()
        provider = start_provider([f"http://127.0.0.1:{port}"])
        providers.append(provider)
        app = serve(HERE, env={
            "NUMEROUS_OIDC_ISSUER": provider.url, "NUMEROUS_OIDC_CLIENT_ID": CLIENT_ID,
            "NUMEROUS_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "NUMEROUS_OIDC_ALLOW_DOMAINS": "acme.test",
            "NUMEROUS_JWT_SECRET": secrets.token_urlsafe(32),
            "NUMEROUS_AUTH_USERS": json.dumps([{"username": "pat", "password": PAT}]),
            "NUMEROUS_TEST_ACCESS_SECONDS": str(ACCESS_SECONDS), **env}, port=port)
        return provider, app

    yield start
    for provider in providers:
        provider.stop()


def sign_in_at_provider(page: Page, account: str) -> None:
    """The provider's own pages: its sign-in form, then its consent page."""
    page.locator("input[name=login]").fill(account)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()
    consent = page.get_by_role("button", name="Continue")
    expect(consent).to_be_visible()
    consent.click()


def counter(page: Page) -> Any:
    return page.locator("#counter input")


def test_single_sign_on_in_the_browser(sso: Any, page: Page) -> None:
    errors: list[str] = []
    calls: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: calls.append(request.url.split("/api/auth/")[1])
            if "/api/auth/" in request.url else None)
    provider, app = sso()

    # Not signed in: the login page offers the provider, and the password form beside it.
    page.goto(f"{app.url}/?from=e2e")
    expect(page).to_have_url(f"{app.url}/login?next={quote('/?from=e2e', safe='')}")
    button = page.get_by_role("link", name="Sign in with Acme ID")
    expect(button).to_be_visible()
    expect(page.locator("input[name=password]")).to_be_visible()

    # Off to the provider's pages, and back to the page asked for, signed in as ann.
    button.click()
    expect(page).to_have_url(re.compile(re.escape(provider.url)))
    sign_in_at_provider(page, "ann")
    expect(page).to_have_url(f"{app.url}/?from=e2e")
    wait_ready(page)
    expect(page.locator("#greeting input")).to_have_value("Hello Ann Analyst")
    page.locator("#button button").click()
    expect(counter(page)).to_have_value("1")
    context = page.evaluate("() => window.numerousAuth.ready.then(() => "
                            "window.numerousAuth.getUserContext())")
    assert context["username"] == "ann" and context["is_admin"] is True
    assert context["roles"] == ["analysts", "admins"]
    assert "access_token" not in page.evaluate("() => document.cookie"), "httpOnly"

    # Work on across a few access token lifetimes: the framework's own refresh does it.
    time.sleep(ACCESS_SECONDS * 2.5)
    page.locator("#button button").click()
    expect(counter(page)).to_have_value("2")
    assert calls.count("refresh") >= 2, calls
    assert page.evaluate("() => fetch('api/auth/me').then(r => r.status)") == 200

    # Sign out: here, then at the provider (its own confirmation page), then back here.
    page.locator("#sign-out").click()
    expect(page).to_have_url(re.compile(re.escape(provider.url)))
    page.get_by_role("button", name="Yes, sign me out").click()
    expect(page).to_have_url(f"{app.url}/login")
    assert page.evaluate("() => fetch('api/auth/me').then(r => r.status)") == 401
    # The provider's session ended too: signing in again asks for the account once more.
    page.get_by_role("link", name="Sign in with Acme ID").click()
    expect(page.locator("input[name=login]")).to_be_visible()
    assert errors == [], errors


def test_someone_outside_the_allow_list_is_refused(sso: Any, page: Page) -> None:
    _, app = sso()
    page.goto(f"{app.url}/")
    page.get_by_role("link", name="Sign in with Acme ID").click()
    sign_in_at_provider(page, "eve")
    expect(page.locator("[data-numerous-login-error]")).to_have_text(
        "eve@elsewhere.test may not sign in to this app. Ask its administrator for access, "
        "or sign in with another account.")
    assert page.evaluate("() => fetch('/api/auth/me').then(r => r.status)") == 401
    page.goto(f"{app.url}/")
    expect(page.get_by_role("link", name="Sign in with Acme ID")).to_be_visible()


def test_the_password_form_works_beside_the_button(sso: Any, page: Page) -> None:
    _, app = sso()
    page.goto(f"{app.url}/")
    page.locator("input[name=username]").fill("pat")
    page.locator("input[name=password]").fill(PAT)
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{app.url}/")
    wait_ready(page)
    expect(page.locator("#greeting input")).to_have_value("Hello pat")
    page.locator("#sign-out").click()
    expect(page).to_have_url(f"{app.url}/login")


# --- behind HAProxy, under a path prefix, two instances ---------------------------------------


@pytest.fixture
def two_instances(tmp_path: Path) -> Iterator[tuple[str, Server]]:
    """Two instances of the app (one JWT secret, users in the real PostgreSQL) behind HAProxy
    at /counter, which pins a browser to one with its SERVERID cookie; and the OpenID
    provider. Yields the app's URL through the proxy and the provider."""
    proxy_port = free_port()
    url = f"http://127.0.0.1:{proxy_port}{PREFIX}"
    provider = start_provider([url])
    prefix = f"oidc{uuid.uuid4().hex[:10]}_"
    env = {"NUMEROUS_TEST_DATABASE_URL": POSTGRES, "NUMEROUS_TEST_TABLE_PREFIX": prefix,
           "NUMEROUS_OIDC_ISSUER": provider.url, "NUMEROUS_OIDC_CLIENT_ID": CLIENT_ID,
           "NUMEROUS_OIDC_CLIENT_SECRET": CLIENT_SECRET,
           "NUMEROUS_OIDC_ALLOW_DOMAINS": "acme.test",
           "NUMEROUS_JWT_SECRET": secrets.token_urlsafe(32)}
    instances = {}
    for name in INSTANCES:
        port = free_port()
        log = tmp_path / f"instance-{name}.log"
        process = spawn([sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1",
                         "--port", str(port), "--root-path", PREFIX], HERE, log, env)
        instances[name] = Server(process, f"http://127.0.0.1:{port}", log)
    servers = "\n".join(f"    server {name} {server.url.removeprefix('http://')} check "
                        f"cookie {name}" for name, server in instances.items())
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=proxy_port, servers=servers, prefix=PREFIX,
                                            socket=tmp_path / "haproxy.sock"))
    proxy = spawn([haproxy_path(), "-f", str(config), "-db"], tmp_path,
                  tmp_path / "haproxy.log")
    try:
        for server in instances.values():
            wait_until_serving(server, 30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if all(httpx.get(f"{url}/numerous/health", cookies={"SERVERID": name},
                                 timeout=2).headers.get("x-served-by") == name
                       for name in INSTANCES):
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield url, provider
    finally:
        proxy.terminate()
        proxy.wait(10)
        for server in instances.values():
            server.stop()
        provider.stop()
        tables = DatabaseAuthProvider(POSTGRES, jwt_secret=env["NUMEROUS_JWT_SECRET"],
                                      table_prefix=prefix)
        in_thread(tables.drop_tables())
        in_thread(tables.close())


def test_the_callback_may_land_on_the_other_instance(two_instances: tuple[str, Server],
                                                      browser: Browser) -> None:
    url, provider = two_instances
    context = browser.new_context()
    context.add_cookies([{"name": "SERVERID", "value": "a", "url": url}])
    page = context.new_page()
    served_by: dict[str, str] = {}
    page.on("response", lambda response: served_by.__setitem__(
        response.url.split("?")[0], response.headers.get("x-served-by", "?")))
    page.goto(f"{url}/")
    expect(page).to_have_url(f"{url}/login?next={quote(PREFIX + '/', safe='')}")
    page.get_by_role("link", name="Sign in with Acme ID").click()
    expect(page).to_have_url(re.compile(re.escape(provider.url)))
    assert served_by[f"{url}/api/auth/oidc/start"] == "a"
    # While the browser is at the provider, the proxy moves it to the other instance.
    context.add_cookies([{"name": "SERVERID", "value": "b", "url": url}])
    sign_in_at_provider(page, "ann")
    expect(page).to_have_url(f"{url}/")
    assert served_by[f"{url}/api/auth/oidc/callback"] == "b"
    wait_ready(page)
    expect(page.locator("#greeting input")).to_have_value("Hello Ann Analyst")
    page.locator("#button button").click()
    expect(counter(page)).to_have_value("1")
    # The browser moves back to the first instance: still signed in (the users and their
    # refresh tokens are in the shared database), a new session there.
    context.add_cookies([{"name": "SERVERID", "value": "a", "url": url}])
    page.reload()
    expect(page).to_have_url(f"{url}/")
    wait_ready(page)
    assert served_by[f"{url}/"] == "a"
    expect(page.locator("#greeting input")).to_have_value("Hello Ann Analyst")
    assert page.evaluate("() => fetch('api/auth/refresh', {method: 'POST'})"
                         ".then(r => r.status)") == 200
    context.close()


def test_the_bootstrapped_single_sign_on_app_signs_in(tmp_path: Path, serve: Any,
                                                       page: Page) -> None:
    bootstrap = str(Path(sys.executable).parent / "numerous-bootstrap")
    subprocess.run([bootstrap, "sso_app", "--with-oidc", "--skip-deps", "--run-skip"],
                   cwd=tmp_path, check=True, capture_output=True)
    port = free_port()
    provider = start_provider([f"http://127.0.0.1:{port}"])
    try:
        # What the user fills into .env; variables set in the environment win over it.
        app = serve(tmp_path / "sso_app", port=port, env={
            "NUMEROUS_OIDC_ISSUER": provider.url, "NUMEROUS_OIDC_CLIENT_ID": CLIENT_ID,
            "NUMEROUS_OIDC_CLIENT_SECRET": CLIENT_SECRET, "NUMEROUS_OIDC_LABEL": "Acme",
            "NUMEROUS_OIDC_ALLOW_DOMAINS": "acme.test"})
        page.goto(app.url)
        expect(page.get_by_role("link", name="Sign in with Acme")).to_be_visible()
        expect(page.locator("input[name=password]")).to_have_count(0)
        page.get_by_role("link", name="Sign in with Acme").click()
        sign_in_at_provider(page, "bob")
        wait_ready(page)
        page.locator("#button button").click()
        expect(page.locator("#counter input")).to_have_value("1")
    finally:
        provider.stop()
