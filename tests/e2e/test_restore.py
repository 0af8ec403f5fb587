"""restore_state: a page whose server went away comes back with its values in a new session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import wait_ready

HERE = Path(__file__).resolve().parent


def test_values_come_back_after_the_server_restarts(serve: Any, page: Page) -> None:
    server = serve(HERE / "restore")
    page.goto(server.url)
    wait_ready(page)
    first_session = page.evaluate("window.numerous.config.session")
    page.locator("#button button").click()
    page.locator("#button button").click()
    expect(page.locator("#counter input")).to_have_value("2")
    page.locator("#name input").fill("Grace")
    page.wait_for_timeout(400)  # the page keeps its values a moment after each change
    with page.expect_navigation(timeout=30_000):
        server.stop()
        serve(HERE / "restore", port=int(server.url.rsplit(":", 1)[1]))
    # No banner: the page reloaded by itself into a new session and offered its values back.
    wait_ready(page)
    assert page.evaluate("window.numerous.config.session") != first_session
    expect(page.locator("#name input")).to_have_value("Grace")
    expect(page.locator("#counter input")).to_have_value("2")
    expect(page.locator("#numerous-session-lost")).to_be_hidden()
    # The restored session works as any other: the callback continues from the value.
    page.locator("#button button").click()
    expect(page.locator("#counter input")).to_have_value("3")
