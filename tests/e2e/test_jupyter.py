"""Classic Jupyter widgets and plots in real Chromium, under the default Content-Security-Policy:
ipywidgets' controls and boxes round-trip through Python, `Output` shows prints and tables."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
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


# --- plots ------------------------------------------------------------------------------------

PLOTS = HERE / "plots"
_CANVAS = "document.querySelector('[data-numerous-widget=mpl] canvas').toDataURL()"
# A transparent 1x1 PNG for every map tile: the map must work without the network.
_TILE = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                      "0000000d4944415478da63fcffff3f0300050001ff0a2db4650000000049454e44ae426082")


def _changes(page: Page, expression: str, before: str) -> None:
    deadline = time.monotonic() + 10
    while page.evaluate(expression) == before:
        if time.monotonic() > deadline:
            pytest.fail(f"did not change within 10 s: {expression}")
        time.sleep(0.1)


def test_ipympl_figure_renders_and_a_python_redraw_reaches_the_page(
        serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(PLOTS))
    expect(app.widget("mpl").locator(".jupyter-matplotlib-figure")).to_be_visible()
    expect(app.widget("mpl").get_by_text("Figure 1")).to_be_visible()
    _changes(page, f"{_CANVAS}.length > 5000 ? 'drawn' : 'blank'", "blank")
    drawn = page.evaluate(_CANVAS)
    app.widget("redraw").locator("button").click()
    _changes(page, _CANVAS, drawn)
    assert app.errors == []


def test_matplotlib_as_an_image_redrawn_on_change(serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(PLOTS))
    image = app.widget("image").locator("img")
    expect(image).to_have_attribute("src", re.compile("^blob:"))
    first = image.get_attribute("src")
    handle = app.widget("power").locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    expect(image).not_to_have_attribute("src", first or "")
    assert app.errors == []


def test_bqplot_chart_renders(serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(PLOTS))
    chart = app.widget("bqplot")
    expect(chart.get_by_text("bqplot", exact=True)).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(3)
    assert app.errors == []


def _offline_tiles(page: Page) -> None:
    page.route(re.compile(r"^https?://.*tile.*"),
               lambda route: route.fulfill(status=200, content_type="image/png", body=_TILE))


def test_ipyleaflet_map_renders_and_round_trips_without_tiles(serve: Any, page: Page) -> None:
    _offline_tiles(page)
    app = AppPage(page).open(serve(PLOTS, target="leaflet:app"))
    expect(app.widget("leaflet").locator(".leaflet-container")).to_be_visible()
    app.widget("leaflet").locator(".leaflet-control-zoom-in").click()
    expect(app.widget("zoom")).to_contain_text("zoom 11")
    app.widget("closer").locator("button").click()
    expect(app.widget("zoom")).to_contain_text("zoom 12")
    assert app.errors == []


def test_a_widget_that_needs_eval_says_which_setting_allows_it(serve: Any, page: Page) -> None:
    _offline_tiles(page)
    app = AppPage(page).open(serve(PLOTS, target="leaflet:strict"))
    expect(app.widget_error("leaflet")).to_contain_text("SecurityPolicy(allow_eval=True)")
    expect(app.widget("zoom")).to_contain_text("zoom 10")  # the rest of the page works


def test_an_anywidget_whose_css_opens_with_a_comment_is_styled(serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(HERE / "jupyter"))
    expect(app.widget("styled").locator(".styled-label")).to_have_css("color", "rgb(0, 128, 128)")
    assert app.errors == []


def test_an_anywidget_inside_a_classic_box_renders_and_updates(serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(HERE / "jupyter"))
    mixed = app.widget("mixed")
    expect(mixed.locator(".styled-label")).to_have_text("inside a box")
    handle = mixed.locator(".noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    expect(mixed.locator(".styled-label")).to_have_text("slid to 2")
    assert app.errors == []


# --- the gallery example (docs/widgets.md shows its screenshot) --------------------------------

EXAMPLE = HERE.parent.parent / "examples" / "jupyter"
SCREENSHOT = HERE.parent.parent / "docs" / "images" / "jupyter-gallery.png"


def test_the_gallery_example_renders_and_its_screenshot_is_taken(
        serve: Any, page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    app = AppPage(page).open(serve(EXAMPLE))
    expect(app.widget("matplotlib").locator(".jupyter-matplotlib-figure")).to_be_visible()
    expect(app.widget("plotly").locator(".main-svg").first).to_be_visible()
    expect(app.widget("bqplot").locator("path.line")).to_have_count(1)
    expect(app.widget("table").locator("table.dataframe")).to_be_visible()
    expect(app.widget("table").locator("th", has_text="sin")).to_be_visible()
    app.widget("controls").get_by_role("button", name="cos").click()
    expect(app.widget("table").locator("th", has_text="cos")).to_be_visible()
    app.widget("controls").get_by_role("button", name="sin").click()
    expect(app.widget("table").locator("th", has_text="sin")).to_be_visible()
    _changes(page, "document.querySelector('[data-numerous-widget=matplotlib] canvas')"
             ".toDataURL().length > 5000 ? 'drawn' : 'blank'", "blank")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert app.errors == []


def test_plotly_figurewidget_renders_and_updates_from_python(serve: Any, page: Page) -> None:
    app = AppPage(page).open(serve(PLOTS))
    plot = app.widget("plotly")
    expect(plot.locator(".scatterlayer .trace")).to_have_count(1)
    app.widget("grow").locator("button").click()
    expect(plot.locator(".gtitle")).to_have_text("updated")
    # The browser told Python about the relayout through FigureWidget's `_js2py_*` traits.
    assert app.errors == []


def test_an_anywidget_compiling_code_names_allow_eval_and_renders_with_it(
        serve: Any, page: Page) -> None:
    strict = AppPage(page).open(serve(PLOTS, target="compiled:strict"))
    expect(strict.widget_error("leaflet")).to_contain_text("SecurityPolicy(allow_eval=True)")
    allowed = AppPage(page).open(serve(PLOTS, target="compiled:allowed"))
    expect(allowed.widget("zoom")).to_have_text("compiled second")
    assert allowed.errors == []
