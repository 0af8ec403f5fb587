"""The roles example's tests, in-process: run them with `python -m pytest` in this folder.

The tests sign in as users of their own, set before the app is imported (`.env` never
overrides a variable that is set), so they need no `.env`.
"""

import json
import secrets
from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver, AppPageError

APP = Path(__file__).parent / "app.py"
USERS = {name: {"username": name, "password": secrets.token_urlsafe(12), "roles": roles}
         for name, roles in [("vera", ["viewer"]), ("ed", ["editor"]), ("gus", [])]}

pytestmark = pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")


@pytest.fixture(scope="module")
def driver():
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NUMEROUS_AUTH_USERS", json.dumps(list(USERS.values())))
        env.setenv("NUMEROUS_JWT_SECRET", secrets.token_hex(32))
        with AppDriver.from_file(APP) as driver:
            for name in ("vera", "ed"):
                driver.login(name, USERS[name]["password"], browser=name)
            yield driver


def test_a_viewer_reads_but_cannot_save(driver):
    page = driver.open_session(browser="vera")
    assert page["who"].value == "Signed in as vera (roles: viewer)"
    assert page["save"].disabled is True
    page.set("target", value=5)
    page.click("save")  # a page that sends the click anyway is refused on the server
    assert page["status"].value == "Refused: only editors change targets."
    assert {row["target"] for row in page["table"].data} == {100}


def test_an_editor_saves_and_everyone_reads_it(driver):
    page = driver.open_session(browser="ed")
    page.set("region", selected_value="East")
    page.set("target", value=250)
    page.click("save")
    assert page["status"].value == "Saved: East now aims at 250."
    viewer = driver.open_session(browser="vera")
    assert {"region": "East", "target": 250} in viewer["table"].data


def test_users_without_a_role_and_strangers_are_not_let_in(driver):
    with pytest.raises(AppPageError, match="403.*does not have access"):
        driver.login("gus", USERS["gus"]["password"], browser="gus")
    with pytest.raises(AppPageError, match="303"):
        driver.open_session(browser="stranger")
