"""The poll's tests, in-process: run them with `python -m pytest` in this folder."""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"

pytestmark = pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")


@pytest.fixture
def driver():
    # A fresh app for each test: the votes belong to the app, not to a page.
    with AppDriver.from_file(APP) as driver:
        yield driver


def votes(session):
    return session["chart"].chart_data["datasets"][0]["data"]


def test_a_vote_shows_on_every_page(driver):
    ada = driver.open_session(browser="ada")
    bob = driver.open_session(browser="bob")
    ada.click("vote_python")
    bob.click("vote_rust")
    bob.click("vote_python")
    for page in (ada, bob):
        page.wait_for("summary", value="3 votes")
        assert votes(page) == [2, 0, 1]
    late = driver.open_session(browser="carol")  # who comes later sees the count too
    assert votes(late) == [2, 0, 1]


def test_visitors_cannot_write_the_results(driver):
    page = driver.open_session()
    page.set("summary", value="1000 votes", wait=False)
    page.wait_for_error("invalid_value")
    assert page["summary"].value == "0 votes"
