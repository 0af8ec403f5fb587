"""combine_apps in Chromium: apps side by side, shared theme and files, overridden templates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, expect

from .conftest import wait_ready

HERE = Path(__file__).resolve().parent / "multi"


def test_two_apps_keep_their_own_counters(serve: Any, browser: Browser) -> None:
    server = serve(HERE, target="main:main")
    assert httpx.get(server.url + "/health").json() == {"status": "healthy",
                                                        "apps": ["/app1", "/app2"]}
    page = browser.new_page()
    page.goto(server.url + "/")
    expect(page.locator("h1")).to_have_text("Two counters")
    page.get_by_role("link", name="app1").click()
    wait_ready(page)
    other = browser.new_page()
    other.goto(server.url + "/app2")  # without the slash: redirected
    wait_ready(other)
    assert other.url == server.url + "/app2/"
    page.locator("#button button").click()
    page.locator("#button button").click()
    other.locator("#button button").click()
    expect(page.locator("#counter input")).to_have_value("2")
    expect(other.locator("#counter input")).to_have_value("1")
    # The shared theme applies everywhere; an app's own theme_css goes on top of it.
    expect(page.locator("h1.themed")).to_have_css("color", "rgb(200, 0, 0)")
    expect(page.locator("body")).to_have_css("margin", "3px")  # from /shared-static/
    expect(other.locator("h1.themed")).to_have_css("color", "rgb(0, 128, 0)")


def test_session_ended_by_the_server_shows_the_banner(serve: Any, browser: Browser) -> None:
    server = serve(HERE, target="main:main")
    page = browser.new_page()
    page.goto(server.url + "/app1/")
    wait_ready(page)
    page.locator("#end button").click()
    banner = page.locator("#numerous-session-lost")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("This session has ended.")
    # app2 overrides the banner template in its templates/ folder.
    page2 = browser.new_page()
    page2.goto(server.url + "/app2/")
    wait_ready(page2)
    page2.locator("#end button").click()
    expect(page2.locator(".custom-lost")).to_have_text("App two lost its session.")
    page2.get_by_role("button", name="Start again").click()
    wait_ready(page2)
    expect(page2.locator("#numerous-session-lost")).to_be_hidden()


def sign_in(page: Any, username: str, password: str, button: str = "Sign in",
            user_label: str = "Username", password_label: str = "Password") -> None:
    page.get_by_label(user_label).fill(username)
    page.get_by_label(password_label).fill(password)
    page.get_by_role("button", name=button).click()


def test_one_sign_in_serves_every_app_of_a_shared_provider(serve: Any, page: Any) -> None:
    server = serve(HERE, target="auth_main:main")
    page.goto(server.url + "/one/")
    expect(page).to_have_url(re.compile(r"/one/login\?next="))
    sign_in(page, "ann", "ann-password-1")
    wait_ready(page)
    page.locator("#button button").click()
    expect(page.locator("#counter input")).to_have_value("1")
    page.goto(server.url + "/two/")  # no second sign-in
    wait_ready(page)
    expect(page.locator("h1.themed")).to_have_text("App two")


def test_public_app_beside_an_admin_app_with_its_own_login_page(serve: Any, page: Any) -> None:
    server = serve(HERE, target="auth_main:main")
    page.goto(server.url + "/public/")
    wait_ready(page)  # open to everyone
    page.goto(server.url + "/admin/")
    expect(page.locator("h1.custom-login")).to_have_text("Administrators only")
    sign_in(page, "ann", "ann-password-1", "Enter", "Who", "Secret")  # not an admin user
    expect(page.get_by_role("alert")).to_be_visible()
    sign_in(page, "root", "root-password-1", "Enter", "Who", "Secret")
    wait_ready(page)
    expect(page.locator("h1.themed")).to_have_text("Admin")
