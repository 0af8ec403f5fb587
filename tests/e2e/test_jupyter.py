"""Classic Jupyter widgets and plots in real Chromium, under the default Content-Security-Policy:
ipywidgets' controls and boxes round-trip through Python, `Output` shows prints and tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage

HERE = Path(__file__).resolve().parent


def test_ipywidgets_controls_round_trip_through_python(serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(HERE / "jupyter"))
    controls = app.widget("controls")
    expect(controls.get_by_text("count: 3", exact=True)).to_be_visible()
    handle = controls.locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    # The slider's change went to Python, whose observer set the other widget's value.
    expect(controls.get_by_text("count: 5", exact=True)).to_be_visible()
    controls.get_by_role("textbox", name="Text").fill("typed")
    expect(controls.locator(".widget-html-content b")).to_have_text("typed")
    controls.locator("button", has_text="Press").click()
    expect(controls.get_by_role("spinbutton", name="Presses")).to_have_value("1")
    assert app.errors == []


def test_layout_boxes_and_tabs_render(serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(HERE / "jupyter"))
    expect(app.widget("controls").locator(".widget-hbox")).to_have_count(4)
    tabs = app.widget("tabs")
    expect(tabs.get_by_text("first tab")).to_be_visible()
    expect(tabs.get_by_text("second tab")).to_be_hidden()
    tabs.locator(".lm-TabBar-tab", has_text="Two").click()
    expect(tabs.get_by_text("second tab")).to_be_visible()
    expect(tabs.get_by_text("first tab")).to_be_hidden()
    assert app.errors == []


def test_output_shows_prints_and_a_pandas_table(serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(HERE / "jupyter"))
    out = app.widget("out")
    expect(out.get_by_text("printed from Python")).to_be_visible()
    expect(out.locator("table.dataframe td", has_text="Lima")).to_be_visible()
    app.widget("controls").locator("button", has_text="Press").click()
    expect(out.get_by_text("pressed 1")).to_be_visible()
    assert app.errors == []
