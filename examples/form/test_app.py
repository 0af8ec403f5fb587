"""The form's tests, in-process: run them with `python -m pytest` in this folder."""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"

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


def test_an_empty_form_lists_every_problem(session):
    session.click("send")
    feedback = session["feedback"].content
    for field in ("Name:", "Email:", "Age:", "Terms:"):
        assert field in feedback


def test_only_the_fields_still_wrong_are_listed(session):
    session.set("name", value="Ada")
    session.set("email", value="ada@example")
    session.set("age", value=36)
    session.click("send")
    feedback = session["feedback"].content
    assert "Email:" in feedback and "Terms:" in feedback
    assert "Name:" not in feedback and "Age:" not in feedback


def test_a_valid_form_welcomes_and_clears(session):
    session.set("name", value=" Ada ")
    session.set("email", value="ada@example.org")
    session.set("age", value=36)
    session.set("agreed", value=True)
    session.click("send")
    assert session["feedback"].content.startswith("**Welcome, Ada!**")
    assert (session["name"].value, session["email"].value, session["agreed"].value) == \
        ("", "", False)
    assert session.errors == []
