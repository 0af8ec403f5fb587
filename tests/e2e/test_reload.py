"""A reload in Chromium moves only what the page does not have: the page is revalidated (304)
and the widget states it kept are named, not sent; the reload still starts a new session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage

HERE = Path(__file__).resolve().parent


def _frames(page: Page) -> list[dict[str, Any]]:
    """Every text frame the page's WebSockets receive from now on, parsed."""
    seen: list[dict[str, Any]] = []

    def socket(ws: Any) -> None:
        ws.on("framereceived", lambda payload: seen.append(json.loads(payload))
              if isinstance(payload, str) else None)

    page.on("websocket", socket)
    return seen


def _document_statuses(page: Page) -> list[int]:
    """The status the server sent for each page load (Playwright's and the page's own view of
    a revalidated page is the cached 200; the network's is the 304)."""
    cdp = page.context.new_cdp_session(page)
    documents: set[str] = set()
    statuses: list[int] = []
    cdp.on("Network.requestWillBeSent", lambda e: documents.add(e["requestId"])
           if e.get("type") == "Document" else None)
    cdp.on("Network.responseReceivedExtraInfo", lambda e: statuses.append(e["statusCode"])
           if e["requestId"] in documents else None)
    cdp.send("Network.enable")
    return statuses


def test_a_reload_is_a_304_and_names_the_kept_states_yet_starts_afresh(
        serve: Any, page: Page) -> None:
    server = serve(HERE / "counter")
    frames = _frames(page)
    documents = _document_statuses(page)
    app = AppPage(page).open(server)
    first = app.session_id
    sent = [m for m in frames if m["type"] == "open"]
    assert sent and all("state" in m and "d" in m for m in sent)
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")

    frames.clear()
    page.reload()
    expect(page.locator("html[data-numerous-ready=true]")).to_be_attached()
    assert documents == [200, 304]
    expect(app.input("counter")).to_have_value("0")  # a reload is a new session, as before
    assert app.session_id != first
    opens = [m for m in frames if m["type"] == "open"]
    assert len(opens) == len(sent)
    assert all("ref" in m and "state" not in m for m in opens), opens
    received = sum(len(json.dumps(m)) for m in frames)
    assert received < 1000, f"{received} bytes of frames for a reload"

    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
    app.button("button").click()
    expect(app.input("counter")).to_have_value("2")
    assert app.errors == []


def test_two_tabs_of_one_browser_reloading_keep_their_own_sessions(
        serve: Any, page: Page) -> None:
    server = serve(HERE / "counter")
    one = AppPage(page).open(server)
    two = AppPage(page.context.new_page()).open(server)
    one.button("button").click()
    expect(one.input("counter")).to_have_value("1")
    two.page.reload()
    expect(two.page.locator("html[data-numerous-ready=true]")).to_be_attached()
    one.page.reload()
    expect(one.page.locator("html[data-numerous-ready=true]")).to_be_attached()
    assert one.session_id != two.session_id
    for tab, clicks in ((one, 2), (two, 1)):
        for _ in range(clicks):
            tab.button("button").click()
    expect(one.input("counter")).to_have_value("2")
    expect(two.input("counter")).to_have_value("1")
    assert one.errors == [] and two.errors == []
