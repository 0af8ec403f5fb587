"""The counter's tests, in-process: run them with `python -m pytest` in this folder."""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"

# numerous-widgets 0.3's Button passes an argument traitlets warns about; not this app's doing.
pytestmark = pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")


@pytest.fixture(scope="module")
def driver():
    with AppDriver.from_file(APP) as driver:
        yield driver


@pytest.fixture
def session(driver):
    session = driver.open_session()
    yield session
    session.close()


def test_add_counts_and_reset_starts_again(session):
    assert session["count"].value == 0
    for _ in range(3):
        session.click("add")
    assert session["count"].value == 3
    session.click("reset")
    assert session["count"].value == 0
    assert session.errors == []


def test_every_visitor_counts_alone(driver):
    first, second = driver.open_session(), driver.open_session(browser="another visitor")
    first.click("add")
    assert (first["count"].value, second["count"].value) == (1, 0)
