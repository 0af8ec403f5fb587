"""combine_apps in Chromium: apps side by side, shared theme and files, overridden templates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from numerous.apps.testing import AppPage

from ._support import sign_in

HERE = Path(__file__).resolve().parent / "multi"


def test_two_apps_keep_their_own_counters(serve: Any, browser: Browser) -> None:
    server = serve(HERE, target="main:main")
    assert httpx.get(server.url + "/health").json() == {"status": "healthy",
                                                        "apps": ["/app1", "/app2"]}
    page = browser.new_page()
    page.goto(server.url + "/")
    # The index page and the apps' own headings (multi/*.j2) are the apps' markup.
    expect(page.locator("h1")).to_have_text("Two counters")
    page.get_by_role("link", name="app1").click()
    app = AppPage(page)
    app.wait_ready()
    other = AppPage(browser.new_page()).open(server, "/app2")  # without the slash: redirected
    assert other.page.url == server.url + "/app2/"
    app.button("button").click()
    app.button("button").click()
    other.button("button").click()
    expect(app.input("counter")).to_have_value("2")
    expect(other.input("counter")).to_have_value("1")
    # The shared theme applies everywhere; an app's own theme_css goes on top of it.
    expect(page.locator("h1.themed")).to_have_css("color", "rgb(200, 0, 0)")
    expect(page.locator("body")).to_have_css("margin", "3px")  # from /shared-static/
    expect(other.page.locator("h1.themed")).to_have_css("color", "rgb(0, 128, 0)")


def test_session_ended_by_the_server_shows_the_banner(serve: Any, browser: Browser) -> None:
    server = serve(HERE, target="main:main")
    app = AppPage(browser.new_page()).open(server, "/app1/")
    app.button("end").click()
    expect(app.session_lost.banner).to_be_visible()
    expect(app.session_lost.banner).to_contain_text("This session has ended.")
    # app2 overrides the banner template in its templates/ folder; the harness still finds it.
    app2 = AppPage(browser.new_page()).open(server, "/app2/")
    app2.button("end").click()
    expect(app2.session_lost.banner).to_contain_text("App two lost its session.")
    expect(app2.session_lost.reload).to_have_text("Start again")
    app2.session_lost.reload.click()
    app2.wait_ready()
    expect(app2.session_lost.banner).to_be_hidden()


def test_one_sign_in_serves_every_app_of_a_shared_provider(serve: Any, page: Page) -> None:
    server = serve(HERE, target="auth_main:main")
    app = AppPage(page).open(server, "/one/", wait=False)
    expect(page).to_have_url(re.compile(r"/one/login\?next="))
    sign_in(app, "ann", "ann-password-1")
    app.wait_ready()
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
    app.open(server, "/two/")  # no second sign-in
    expect(page.locator("h1.themed")).to_have_text("App two")


def test_public_app_beside_an_admin_app_with_its_own_login_page(serve: Any, page: Page) -> None:
    server = serve(HERE, target="auth_main:main")
    app = AppPage(page).open(server, "/public/")  # open to everyone
    app.open(server, "/admin/", wait=False)
    # The admin app's own login template (multi/admin/templates/login.html.j2): its heading
    # and labels are its own, its form posts the same fields.
    expect(page.locator("h1.custom-login")).to_have_text("Administrators only")
    expect(app.login_form.username).to_be_visible()
    sign_in(app, "ann", "ann-password-1")  # not an admin user
    expect(page.get_by_role("alert")).to_be_visible()
    sign_in(app, "root", "root-password-1")
    app.wait_ready()
    expect(page.locator("h1.themed")).to_have_text("Admin")
