"""restore_state: a page whose server went away comes back with its values in a new session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage

HERE = Path(__file__).resolve().parent


def test_values_come_back_after_the_server_restarts(serve: Any, page: Page) -> None:
    server = serve(HERE / "restore")
    app = AppPage(page).open(server)
    first_session = app.session_id
    app.button("button").click()
    app.button("button").click()
    expect(app.input("counter")).to_have_value("2")
    app.input("name").fill("Grace")
    page.wait_for_timeout(400)  # the page keeps its values a moment after each change
    with page.expect_navigation(timeout=30_000):
        server.stop()
        serve(HERE / "restore", port=int(server.url.rsplit(":", 1)[1]))
    # No banner: the page reloaded by itself into a new session and offered its values back.
    app.wait_ready()
    assert app.session_id != first_session
    expect(app.input("name")).to_have_value("Grace")
    expect(app.input("counter")).to_have_value("2")
    expect(app.session_lost.banner).to_be_hidden()
    # The restored session works as any other: the callback continues from the value.
    app.button("button").click()
    expect(app.input("counter")).to_have_value("3")
