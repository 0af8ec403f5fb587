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
from numerous.apps.testing import AppPage, Server

from ._support import sign_in

HERE = Path(__file__).resolve().parent / "auth"
ACCESS_SECONDS = 4
PASSWORD = "ann-password-1"


def auth_calls(page: Page) -> list[str]:
    """The auth API requests the page makes (`refresh`, `me`, ...), as they happen."""
    calls: list[str] = []
    page.on("request", lambda request: calls.append(request.url.split("/api/auth/")[1])
            if "/api/auth/" in request.url else None)
    return calls


def the_whole_flow(page: Page, server: Server) -> None:
    app = AppPage(page)  # its `errors`: page errors and console errors
    calls = auth_calls(page)
    counter = app.input("counter")
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    # Not signed in: the app sends the browser to the login page, remembering where it was.
    app.open(server, "/?from=e2e", wait=False)
    expect(page).to_have_url(f"{server.url}/login?next={quote('/?from=e2e', safe='')}")
    expect(app.login_form.password).to_be_visible()

    # A wrong password: the form again, with the message, the username kept.
    sign_in(app, "ann", "not-the-password")
    expect(app.login_form.error).to_have_text("Invalid username or password")
    expect(app.login_form.username).to_have_value("ann")

    # The right one: on to the page asked for, the app running as ann.
    sign_in(app, "ann", PASSWORD)
    expect(page).to_have_url(f"{server.url}/?from=e2e")
    app.wait_ready()
    expect(app.input("greeting")).to_have_value("Hello ann")
    expect(counter).to_have_value("0")
    app.button("button").click()
    expect(counter).to_have_value("1")
    context = page.evaluate("() => window.numerousAuth.ready.then(() => ["
                            "window.numerousAuth.isAuthenticated(),"
                            "window.numerousAuth.getUserContext()])")
    assert context[0] is True
    assert context[1]["username"] == "ann" and context[1]["roles"] == ["editor"]
    assert "access_token" not in page.evaluate("() => document.cookie"), "httpOnly"
    session = app.session_id

    # Work on across several access token lifetimes: auth.js refreshes before each runs out.
    time.sleep(ACCESS_SECONDS * 2.5)
    app.button("button").click()
    expect(counter).to_have_value("2")
    assert calls.count("refresh") >= 2, calls
    assert page.evaluate("() => fetch('api/auth/me').then(r => r.status)") == 200

    # The WebSocket drops and comes back on the refreshed token to the same session.
    page.evaluate("() => window.numerous.connection.socket.close()")
    app.button("button").click()
    expect(counter).to_have_value("3")
    assert app.session_id == session

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
    app.button("button").click()
    expect(counter).to_have_value("4")
    assert app.session_id == session

    # Sign out (the app's own button, auth/*/index.html.j2): back at the login page; the back
    # button does not bring the app back.
    page.locator("#sign-out").click()
    expect(page).to_have_url(f"{server.url}/login")
    page.go_back()
    expect(app.login_form.password).to_be_visible()
    expect(page).to_have_url(f"{server.url}/login?next={quote('/?from=e2e', safe='')}")
    assert app.widget("counter").count() == 0
    assert page.evaluate("() => fetch('api/auth/me').then(r => r.status)") == 401

    # A `next` that leads elsewhere is ignored; one with markup is harmless.
    app.open(server, "/login?next=javascript:alert(1)", wait=False)
    sign_in(app, "ann", PASSWORD)
    expect(page).to_have_url(f"{server.url}/")
    app.wait_ready()
    expect(counter).to_have_value("0")  # signing in again starts a new session
    assert dialogs == []
    unexpected = [e for e in app.errors if "401" not in e]
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
