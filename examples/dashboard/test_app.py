"""The dashboard's tests, in-process: run them with `python -m pytest` in this folder."""

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


def test_the_page_opens_with_six_months_of_the_north(session):
    assert session["chart"].chart_data["labels"] == ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
    assert [row["month"] for row in session["table"].data] == \
        session["chart"].chart_data["labels"]
    assert session["chart"].chart_data["datasets"][0]["label"] == "Units, North"


def test_chart_table_and_totals_follow_the_choices(session):
    session.set("region", selected_value="West")
    session.set("months", value=12)
    rows = session["table"].data
    assert len(rows) == 12
    assert session["chart"].chart_data["datasets"][0]["data"] == [row["units"] for row in rows]
    units = sum(row["units"] for row in rows)
    assert session["totals"].value.startswith(f"{units:,} units")
    assert session.errors == []
