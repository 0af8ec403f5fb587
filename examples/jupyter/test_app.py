"""The notebook widgets' tests, in-process: run them with `python -m pytest` in this folder.

These check what the server sends; the plots drawn in Chromium are tested by the framework's
own suite (tests/e2e/test_jupyter.py).
"""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"

# bqplot sets trait metadata the way traitlets 4.0 did; not this app's doing.
pytestmark = pytest.mark.filterwarnings(
    "ignore:metadata .* was set from the constructor:DeprecationWarning")


@pytest.fixture(scope="module")
def driver():
    with AppDriver.from_file(APP, timeout=20) as driver:
        yield driver


def test_the_page_has_every_plot_and_the_table(driver):
    page = driver.open_session()
    assert page.keys == ["controls", "matplotlib", "plotly", "bqplot", "table"]
    outputs = page["table"].state["outputs"]
    assert "sin" in outputs[-1]["data"]["text/plain"]
    assert page.errors == []


def test_the_controls_hold_the_slider_and_the_wave_buttons(driver):
    page = driver.open_session()
    children = page["controls"].state["children"]
    assert len(children) == 2 and all(child.startswith("IPY_MODEL_") for child in children)


def test_moving_the_slider_redraws_the_table(driver):
    page = driver.open_session()
    before = page["table"].state["outputs"][-1]["data"]["text/plain"]
    page.set("controls.children.0", value=3.0)  # the box's first child: the frequency slider
    after = page["table"].state["outputs"][-1]["data"]["text/plain"]
    assert after != before and "sin" in after
    page.set("controls.children.1", index=1)  # the wave buttons: cos
    assert "cos" in page["table"].state["outputs"][-1]["data"]["text/plain"]
    assert page.errors == []
