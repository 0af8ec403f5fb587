"""The example's tests, in-process: run them with `python -m pytest` in this folder."""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"


@pytest.fixture(scope="module")
def driver():
    with AppDriver.from_file(APP, timeout=10) as driver:
        yield driver


@pytest.fixture
def session(driver):
    session = driver.open_session()
    yield session
    session.close()


def test_the_computation_reports_progress_then_its_result(session):
    session.set("limit", value=20_000)
    session.click("start")
    session.wait_for("status", value="2,262 primes below 20,000.")
    assert session["progress"].value == 100
    assert session["start"].disabled is False


def test_cancel_stops_the_computation(session):
    session.set("limit", value=50_000_000)  # hours of work
    session.click("start")
    session.wait_for("progress", lambda view: view.value > 0)
    session.click("cancel")
    session.wait_for("status", value="Cancelled.")
    assert session["progress"].value < 100


def test_the_page_answers_while_the_computation_runs(session):
    session.set("limit", value=50_000_000)
    session.click("start")
    session.wait_for("progress", lambda view: view.value > 0)
    session.set("limit", value=1000)  # answered: the session thread is free
    assert session["limit"].value == 1000
    session.click("cancel")
    session.wait_for("status", value="Cancelled.")


def test_every_visitor_gets_the_cached_chart(driver):
    first, second = driver.open_session(), driver.open_session()
    for page in (first, second):
        page.wait_for("chart", lambda view: view.chart_data.get("labels"))
    assert first["chart"].chart_data == second["chart"].chart_data
    assert len(first["chart"].chart_data["labels"]) == 24
