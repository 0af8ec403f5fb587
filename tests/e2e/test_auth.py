"""Authentication in real Chromium, against EnvAuthProvider and DatabaseAuthProvider (SQLite):
the login redirect, a wrong password, signing in, using the app across several access token
lifetimes (silent refresh, a WebSocket reconnect on a refreshed token, and the server closing
the WebSocket with 4401 when its token runs out) without losing the session, signing out, and
the back button after it."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Dialog, Page, expect

from numerous.apps.auth import CreateUserRequest
from numerous.apps.auth.providers.database_auth import DatabaseAuthProvider

from .conftest import Server, wait_ready

HERE = Path(__file__).resolve().parent / "auth"
ACCESS_SECONDS = 4
PASSWORD = "ann-password-1"
IGNORED_CONSOLE = ("fonts.googleapis.com", "ERR_NAME_NOT_RESOLVED")


def watch(page: Page) -> tuple[list[str], list[str]]:
    """Page errors and console errors; and the auth API requests the page makes."""
    errors: list[str] = []
    calls: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}")
            if msg.type == "error" and not any(s in msg.text for s in IGNORED_CONSOLE)
            else None)
    page.on("request", lambda request: calls.append(request.url.split("/api/auth/")[1])
            if "/api/auth/" in request.url else None)
    return errors, calls


def sign_in(page: Page, username: str, password: str) -> None:
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("button[type=submit]").click()


def counter(page: Page) -> Any:
    return page.locator("#counter input")


def click(page: Page) -> None:
    page.locator("#button button").click()


def the_whole_flow(page: Page, server: Server) -> None:
    errors, calls = watch(page)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    # Not signed in: the app sends the browser to the login page, remembering where it was.
    page.goto(f"{server.url}/?from=e2e")
    expect(page).to_have_url(f"{server.url}/login?next={quote('/?from=e2e', safe='')}")
    expect(page.locator("input[name=password]")).to_be_visible()

    # A wrong password: the form again, with the message, the username kept.
    sign_in(page, "ann", "not-the-password")
    expect(page.locator("[data-numerous-login-error]")).to_have_text(
        "Invalid username or password")
    expect(page.locator("input[name=username]")).to_have_value("ann")

    # The right one: on to the page asked for, the app running as ann.
    sign_in(page, "ann", PASSWORD)
    expect(page).to_have_url(f"{server.url}/?from=e2e")
    wait_ready(page)
    expect(page.locator("#greeting input")).to_have_value("Hello ann")
    expect(counter(page)).to_have_value("0")
    click(page)
    expect(counter(page)).to_have_value("1")
    context = page.evaluate("() => window.numerousAuth.ready.then(() => ["
                            "window.numerousAuth.isAuthenticated(),"
                            "window.numerousAuth.getUserContext()])")
    assert context[0] is True
    assert context[1]["username"] == "ann" and context[1]["roles"] == ["editor"]
    assert "access_token" not in page.evaluate("() => document.cookie"), "httpOnly"
    session = page.evaluate("() => window.numerous.config.session")

    # Work on across several access token lifetimes: auth.js refreshes before each runs out.
    time.sleep(ACCESS_SECONDS * 2.5)
    click(page)
    expect(counter(page)).to_have_value("2")
    assert calls.count("refresh") >= 2, calls
    assert page.evaluate("() => fetch('api/auth/me').then(r => r.status)") == 200

    # The WebSocket drops and comes back on the refreshed token to the same session.
    page.evaluate("() => window.numerous.connection.socket.close()")
    click(page)
    expect(counter(page)).to_have_value("3")
    assert page.evaluate("() => window.numerous.config.session") == session

    # No refresh timer runs (a laptop asleep): the server closes the WebSocket with 4401 when
    # the token it was opened with runs out, the page renews its sign-in on that 4401 and
    # reconnects, and the open session carries on.
    page.evaluate("() => window.numerousAuth.stop()")
    page.evaluate("""() => { const c = window.numerous.connection; const on = c.onStatus;
        window.closeCodes = [];
        c.onStatus = (s, d) => { if (d?.code) window.closeCodes.push(d.code); on(s, d); }; }""")
    refreshes = calls.count("refresh")
    time.sleep(ACCESS_SECONDS + 1.5)
    assert 4401 in page.evaluate("() => window.closeCodes")
    assert calls.count("refresh") > refreshes, calls
    assert page.evaluate("() => window.numerousAuth.ensureFresh()") is True
    assert page.evaluate("() => fetch('api/auth/me').then(r => r.status)") == 200
    click(page)
    expect(counter(page)).to_have_value("4")
    assert page.evaluate("() => window.numerous.config.session") == session

    # Sign out: back at the login page; the back button does not bring the app back.
    page.locator("#sign-out").click()
    expect(page).to_have_url(f"{server.url}/login")
    page.go_back()
    expect(page.locator("input[name=password]")).to_be_visible()
    expect(page).to_have_url(f"{server.url}/login?next={quote('/?from=e2e', safe='')}")
    assert page.locator("#counter").count() == 0
    assert page.evaluate("() => fetch('api/auth/me').then(r => r.status)") == 401

    # A `next` that leads elsewhere is ignored; one with markup is harmless.
    page.goto(f"{server.url}/login?next=javascript:alert(1)")
    sign_in(page, "ann", PASSWORD)
    expect(page).to_have_url(f"{server.url}/")
    wait_ready(page)
    expect(counter(page)).to_have_value("0")  # signing in again starts a new session
    assert dialogs == []
    unexpected = [e for e in errors if "401" not in e]
    assert unexpected == [], unexpected


def test_env_auth_in_the_browser(serve: Any, page: Page) -> None:
    users = [{"username": "ann", "password": PASSWORD, "roles": ["editor"]}]
    server = serve(HERE / "env_app", env={
        "NUMEROUS_AUTH_USERS": json.dumps(users),
        "NUMEROUS_JWT_SECRET": secrets.token_hex(32),
        "NUMEROUS_TEST_ACCESS_SECONDS": str(ACCESS_SECONDS),
    })
    the_whole_flow(page, server)


def test_database_auth_in_the_browser(serve: Any, page: Page, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}"
    secret = secrets.token_hex(32)

    async def create_users() -> None:
        provider = DatabaseAuthProvider(database_url=url, jwt_secret=secret)
        await provider.create_user(CreateUserRequest(username="ann", password=PASSWORD,
                                                     roles=["editor"]))
        await provider.close()

    # Playwright's sync API runs an event loop on this thread: set up on another one.
    with ThreadPoolExecutor(1) as setup:
        setup.submit(asyncio.run, create_users()).result()
    server = serve(HERE / "db_app", env={
        "NUMEROUS_TEST_DATABASE_URL": url,
        "NUMEROUS_JWT_SECRET": secret,
        "NUMEROUS_TEST_ACCESS_SECONDS": str(ACCESS_SECONDS),
    })
    the_whole_flow(page, server)
