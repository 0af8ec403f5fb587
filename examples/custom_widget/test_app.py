"""The custom widget's tests, in-process: run them with `python -m pytest` in this folder."""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"


@pytest.fixture(scope="module")
def driver():
    with AppDriver.from_file(APP) as driver:
        yield driver


@pytest.fixture
def session(driver):
    session = driver.open_session()
    yield session
    session.close()


def test_the_page_loads_the_widgets_own_code(session):
    assert session["rating"].stars == 5
    assert session["summary"].value == "No rating yet."


def test_a_rating_from_the_page_reaches_python(session):
    session.set("rating", value=4)  # what a click on the fourth star sends
    assert session["summary"].value == "You gave 4 of 5 stars."
    assert session.errors == []


def test_a_rating_out_of_range_is_refused(session):
    session.set("rating", value=9, wait=False)
    error = session.wait_for_error("invalid_value")
    assert error["message"].startswith("value:")  # the widget's own check said no
    assert session["summary"].value == "No rating yet."
