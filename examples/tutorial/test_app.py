"""Tests for this app, run with `python -m pytest` in this folder.

`AppDriver` opens sessions in-process, the way a browser does (the page, then the WebSocket),
with no server and no browser: each test takes milliseconds. See the numerous-apps docs,
"Testing", for the pytest fixtures and for tests in a real browser.
"""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"

# numerous-widgets 0.3's Button passes an argument traitlets warns about; not this app's doing.
pytestmark = pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")


@pytest.fixture(scope="module")
def driver():
    # The app starts once for this file; every test opens a session (a page) of its own.
    with AppDriver.from_file(APP) as driver:
        yield driver


@pytest.fixture
def session(driver):
    session = driver.open_session()
    yield session
    session.close()


def test_the_button_counts_clicks(session):
    assert session["counter"].value == 0
    session.click("button")
    session.click("button")
    assert session["counter"].value == 2


def test_the_greeting_follows_the_name(session):
    assert session["greeting"].value == "Hello!"
    session.set("name", value="Ada")
    assert session["greeting"].value == "Hello, Ada!"
    session.set("name", value="")
    assert session["greeting"].value == "Hello!"


def test_the_order_total_and_basket_follow_fruit_and_quantity(session):
    assert session["total"].value == "3 × Apples = 3.60"
    session.set("quantity", value=5)
    assert session["total"].value == "5 × Apples = 6.00"
    session.set("fruit", selected_value="Plums")
    assert session["total"].value == "5 × Plums = 10.50"
    assert session["basket"].data == [{"fruit": "Plums", "quantity": 5, "cost": "10.50"}]


def test_members_pay_ten_percent_less(session):
    session.set("quantity", value=10)
    assert session["total"].value == "10 × Apples = 12.00"
    session.set("member", value=True)
    assert session["total"].value == "10 × Apples = 10.80 (member price)"
    assert session["basket"].data[0]["cost"] == "10.80"
    session.set("member", value=False)
    assert session["total"].value == "10 × Apples = 12.00"


def test_every_visitor_has_a_counter_of_their_own(driver):
    first, second = driver.open_session(), driver.open_session()
    first.click("button")
    assert (first["counter"].value, second["counter"].value) == (1, 0)


def test_nothing_went_wrong(session):
    session.click("button")
    session.set("quantity", value=7)
    assert session.errors == []
