"""Single sign-on in real Chromium against a certified OpenID provider (the `oidc-provider`
package under Node.js, started on a free port with its own sign-in, consent and sign-out
pages): sign in, use the app across several access token lifetimes, sign out here and at the
provider; a user outside the allow-list is refused with a page saying so; the password form
works beside the button."""

from __future__ import annotations

import json
import secrets
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from .conftest import Server, free_port, spawn, wait_ready

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
