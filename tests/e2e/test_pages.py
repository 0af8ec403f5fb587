"""Pages, URL state, uploads and downloads in Chromium, on the orders example."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from numerous.apps.testing import wait_ready

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent.parent / "examples" / "orders"


def status(page: Page) -> Any:
    return page.locator('[data-numerous-widget="status"] select')


def table(page: Page, key: str = "table") -> Any:
    return page.locator(f'[data-numerous-widget="{key}"]')


def session_of(page: Page) -> str:
    return str(page.evaluate("window.numerous.config.session"))


def test_a_deep_link_opens_with_its_state(serve: Any, page: Page) -> None:
    server = serve(EXAMPLE)
    page.goto(f"{server.url}/?status=open&q=lamp")
    wait_ready(page)
    expect(status(page)).to_have_value("open")
    expect(page.locator('[data-numerous-widget="search"] input')).to_have_value("lamp")
    expect(table(page)).to_have_attribute("data-rows", "1")
    expect(table(page)).to_contain_text("Ada")


def test_bound_widgets_keep_the_address_bar_and_history_in_step(serve: Any, page: Page) -> None:
    server = serve(EXAMPLE)
    page.goto(f"{server.url}/")
    wait_ready(page)
    first = session_of(page)
    status(page).select_option("shipped")
    expect(page).to_have_url(re.compile(r"\?status=shipped$"))
    expect(table(page)).to_have_attribute("data-rows", "3")
    search = page.locator('[data-numerous-widget="search"] input')
    search.fill("monitor")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"\?status=shipped&q=monitor$"))
    expect(table(page)).to_have_attribute("data-rows", "1")
    status(page).select_option("all")
    expect(page).to_have_url(re.compile(r"\?status=all&q=monitor$"))

    page.go_back()  # the status filter pushes history entries; the search replaces them
    expect(status(page)).to_have_value("shipped")
    expect(table(page)).to_have_attribute("data-rows", "1")
    page.go_back()
    expect(status(page)).to_have_value("all")
    expect(search).to_have_value("")
    expect(table(page)).to_have_attribute("data-rows", "8")
    page.go_forward()
    expect(status(page)).to_have_value("shipped")
    expect(search).to_have_value("monitor")
    assert session_of(page) == first, "back and forward stay in the same session"


def test_links_lead_to_a_page_per_order_and_unknown_pages_get_the_404_page(
        serve: Any, page: Page) -> None:
    server = serve(EXAMPLE)
    page.goto(f"{server.url}/")
    wait_ready(page)
    table(page).get_by_role("link", name="5", exact=True).click()
    expect(page).to_have_url(f"{server.url}/orders/5")
    wait_ready(page)
    expect(page.locator("h1")).to_have_text("Order 5")
    expect(table(page, "order")).to_contain_text("Alan")
    page.locator("#back").click()
    expect(page).to_have_url(f"{server.url}/")
    for path in ("/orders/99", "/orders/abc", "/nowhere"):
        response = page.goto(f"{server.url}{path}")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Page not found")


def test_the_export_downloads_the_filtered_rows(serve: Any, page: Page) -> None:
    server = serve(EXAMPLE)
    page.goto(f"{server.url}/?status=returned")
    wait_ready(page)
    with page.expect_download() as info:
        page.locator('[data-numerous-widget="export"] button').click()
    download = info.value
    assert download.suggested_filename == "orders-returned.csv"
    content = Path(download.path()).read_text(encoding="utf-8")
    assert content.splitlines() == ["id,customer,item,status,total",
                                    "4,Margaret,Desk lamp,returned,39.0"]


def test_a_csv_upload_fills_the_table(serve: Any, page: Page, tmp_path: Path) -> None:
    server = serve(EXAMPLE)
    page.goto(f"{server.url}/")
    wait_ready(page)
    csv_file = tmp_path / "new orders.csv"
    csv_file.write_text("id,customer,item,status,total\n30,Zoe,Lamp,open,12\n")
    page.locator('[data-numerous-widget="upload"] input[type=file]').set_input_files(csv_file)
    expect(table(page)).to_have_attribute("data-rows", "1")
    expect(table(page)).to_contain_text("Zoe")


def test_a_100_mb_upload_shows_progress_and_reaches_the_callback_intact(
        serve: Any, page: Page, tmp_path: Path) -> None:
    server = serve(HERE / "pages")
    page.goto(server.url)
    wait_ready(page)
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with big.open("wb") as out:
        for _ in range(100):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            out.write(chunk)
    widget = page.locator('[data-numerous-widget="upload"]')
    widget.locator("input[type=file]").set_input_files(big)
    seen = set()
    deadline = time.monotonic() + 120
    while widget.get_attribute("data-state") != "done" and time.monotonic() < deadline:
        seen.add(widget.get_attribute("data-progress"))
        time.sleep(0.01)
    expect(page.locator("#result-text")).to_have_text(
        f"big.bin {100 * 1024 * 1024} {digest.hexdigest()}", timeout=60_000)
    moving = {value for value in seen if value not in (None, "0", "100")}
    assert moving, f"the progress bar never showed a value between 0 and 100: {seen}"


def test_a_file_over_the_limit_is_refused_with_a_message(
        serve: Any, page: Page, tmp_path: Path) -> None:
    server = serve(HERE / "pages")
    page.goto(server.url)
    wait_ready(page)
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as out:
        out.truncate(151 * 1024 * 1024)  # sparse: no time spent writing it
    widget = page.locator('[data-numerous-widget="upload"]')
    widget.locator("input[type=file]").set_input_files(huge)
    expect(widget.locator(".numerous-upload__status")).to_have_text(
        "huge.bin is too large: this app accepts files up to 150 MB.")
    expect(widget).to_have_attribute("data-state", "refused")
    expect(page.locator("#result-text")).to_have_text("nothing yet")
