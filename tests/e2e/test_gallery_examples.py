"""Every app in examples/ in Chromium: served, used the way its gallery entry says, and
photographed for docs/gallery.md (docs/images/gallery/NAME.png, rewritten on every run, so the
pictures show the apps as they are).

The examples' own tests (their `test_app.py`, in-process) run in tests/unit/test_examples.py.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage

from ._support import sign_in

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PICTURES = REPO / "docs" / "images" / "gallery"
VIEWPORT = {"width": 1000, "height": 720}
ROLES_USERS = [{"username": "ed", "password": secrets.token_urlsafe(12), "roles": ["editor"]}]


def counter(app: AppPage) -> None:
    for _ in range(3):
        app.button("add").click()
    expect(app.input("count")).to_have_value("3")


def form(app: AppPage) -> None:
    app.input("name").fill("Ada")
    app.input("email").fill("ada@example")
    app.button("send").click()
    expect(app.widget("feedback")).to_contain_text("Email: an address like")


def dashboard(app: AppPage) -> None:
    expect(app.widget("chart").locator("canvas")).to_be_visible()
    expect(app.widget("table")).to_contain_text("Jun")


def orders(app: AppPage) -> None:
    expect(app.widget("table")).to_contain_text("Desk lamp")


def files(app: AppPage) -> None:
    app.widget("upload").locator("input[type=file]").set_input_files(files=[{
        "name": "poem.txt", "mimeType": "text/plain",
        "buffer": b"The rain in Spain stays mainly in the plain. The plain is wide."}])
    expect(app.input("summary")).to_have_value("poem.txt: 13 words.")
    expect(app.widget("table")).to_contain_text("plain")


def tasks(app: AppPage) -> None:
    app.input("limit").fill("50000")
    app.button("start").click()
    expect(app.input("status")).to_have_value("5,133 primes below 50,000.", timeout=30_000)


def roles(app: AppPage) -> None:
    sign_in(app, "ed", ROLES_USERS[0]["password"])
    app.wait_ready()
    expect(app.input("who")).to_have_value("Signed in as ed (roles: editor)")
    app.input("target").fill("250")
    app.button("save").click()
    expect(app.input("status")).to_have_value("Saved: North now aims at 250.")


def poll(app: AppPage) -> None:
    for key in ("vote_python", "vote_python", "vote_rust"):
        app.button(key).click()
    expect(app.input("summary")).to_have_value("3 votes")


def agent(app: AppPage) -> None:
    app.button("button").click()
    expect(app.widget("result")).to_contain_text("Monthly payment")


def custom_widget(app: AppPage) -> None:
    app.widget("rating").get_by_role("button", name="4 stars").click()
    expect(app.input("summary")).to_have_value("You gave 4 of 5 stars.")
    expect(app.widget("rating").locator("button.on")).to_have_count(4)


def jupyter(app: AppPage) -> None:
    expect(app.widget("matplotlib").locator("canvas").first).to_be_visible(timeout=20_000)


def tutorial(app: AppPage) -> None:
    app.input("member").check()
    expect(app.input("total")).to_have_value("3 × Apples = 3.24 (member price)")


USES: dict[str, Callable[[AppPage], None]] = {
    use.__name__: use for use in (counter, form, dashboard, orders, files, tasks, roles, poll,
                                  agent, custom_widget, jupyter, tutorial)}
CHARTS = {"dashboard", "poll", "tasks"}
"""Chart.js animates its bars for a second: the picture waits for the end of it."""
ENV = {"roles": {"NUMEROUS_AUTH_USERS": json.dumps(ROLES_USERS),
                 "NUMEROUS_JWT_SECRET": secrets.token_hex(32)}}


def test_every_example_has_a_use_and_a_picture_here() -> None:
    assert sorted(USES) == sorted(path.parent.name for path in EXAMPLES.glob("*/app.py"))


@pytest.mark.parametrize("name", sorted(USES))
def test_the_example_works_in_chromium_and_is_photographed(name: str, serve: Any,
                                                           page: Page) -> None:
    server = serve(EXAMPLES / name, env=ENV.get(name))
    page.set_viewport_size(VIEWPORT)
    app = AppPage(page).open(server, wait=name != "roles")
    USES[name](app)
    assert app.errors == []
    if name in CHARTS:
        page.wait_for_timeout(1_500)
    PICTURES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(PICTURES / f"{name}.png"))
    assert (PICTURES / f"{name}.png").stat().st_size > 5_000
