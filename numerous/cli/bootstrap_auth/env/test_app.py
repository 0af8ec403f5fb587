"""Tests for this app, run with `python -m pytest` in this folder.

`AppDriver` opens sessions in-process, the way a browser does (the page, then the WebSocket),
with no server and no browser: each test takes milliseconds. See the numerous-apps docs,
"Testing", for the pytest fixtures and for tests in a real browser.

The app asks visitors to sign in, so the driver signs in first, as a user of the tests' own:
the variables are set before the app is imported, and `.env` never overrides a variable that
is set, so the tests need neither `.env` nor its password (in CI, there is none).
"""

import json
import secrets
from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver, AppPageError

APP = Path(__file__).parent / "app.py"
TESTER = {"username": "tester", "password": secrets.token_urlsafe(16)}

# numerous-widgets 0.3's Button passes an argument traitlets warns about; not this app's doing.
pytestmark = pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")


@pytest.fixture(scope="module")
def driver():
    # The app starts once for this file; every test opens a session (a page) of its own.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NUMEROUS_AUTH_USERS", json.dumps([TESTER]))
        env.setenv("NUMEROUS_JWT_SECRET", secrets.token_hex(32))
        with AppDriver.from_file(APP) as driver:
            driver.login(TESTER["username"], TESTER["password"])
            yield driver


def test_visitors_who_have_not_signed_in_are_sent_to_sign_in(driver):
    with pytest.raises(AppPageError, match="303"):
        driver.open_session(browser="stranger")


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


def test_every_visitor_has_a_counter_of_their_own(driver):
    first, second = driver.open_session(), driver.open_session()
    first.click("button")
    assert (first["counter"].value, second["counter"].value) == (1, 0)


def test_nothing_went_wrong(session):
    session.click("button")
    session.set("quantity", value=7)
    assert session.errors == []
