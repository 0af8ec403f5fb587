"""The loan calculator's tests, in-process: run them with `python -m pytest` in this folder.

The first test uses the page as a visitor does; the others drive it as drive.py and an agent
do, through the agent API's HTTP routes.
"""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"

pytestmark = pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")


@pytest.fixture(scope="module")
def driver():
    with AppDriver.from_file(APP) as driver:
        yield driver


def call(driver, method, path, body=None, browser="agent"):
    response = driver.request(method, f"/api/agent{path}", json=body, browser=browser)
    return response.status_code, response.json()


def test_the_button_computes_the_payment(driver):
    page = driver.open_session()
    page.set("principal", value=100_000)
    page.set("rate", value=0)
    page.set("years", value=10)
    page.click("button")
    assert page["result"].content == "Monthly payment: **833.33** over 120 months"


def test_an_agent_sets_the_widgets_and_calls_the_action(driver):
    status, described = call(driver, "POST", "/sessions", {})
    assert status == 201
    assert "compute" in described["actions"]
    session = f"/sessions/{described['session']}"
    for key, value in [("principal", 350_000), ("rate", 3.5), ("years", 30)]:
        status, answer = call(driver, "PUT", f"{session}/widgets/{key}/traits/value",
                              {"value": value})
        assert (status, answer["value"]) == (200, value)
    status, answer = call(driver, "POST", f"{session}/actions/compute", {})
    assert status == 200
    monthly = 350_000 * (0.035 / 12) / (1 - (1 + 0.035 / 12) ** -360)  # the annuity formula
    assert answer["result"] == {"monthly_payment": round(monthly, 2),
                                "total_paid": round(monthly * 360, 2)}
    assert answer["result"]["monthly_payment"] == 1571.66


def test_a_bad_value_is_refused_with_a_reason(driver):
    _, described = call(driver, "POST", "/sessions", {})
    status, refused = call(driver, "PUT",
                           f"/sessions/{described['session']}/widgets/years/traits/value",
                           {"value": "a long time"})
    assert status == 422
    assert refused["detail"]["message"]


def test_another_browser_cannot_use_the_agents_session(driver):
    _, described = call(driver, "POST", "/sessions", {})
    status, _ = call(driver, "POST", f"/sessions/{described['session']}/actions/compute", {},
                     browser="someone else")
    assert status == 401  # the session belongs to the browser that opened it
