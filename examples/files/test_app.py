"""The word count's tests, in-process: run them with `python -m pytest` in this folder."""

from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver

APP = Path(__file__).parent / "app.py"
TEXT = "The cat sat. The cat ran! A dog? The end."

pytestmark = pytest.mark.filterwarnings("ignore:Passing unrecognized arguments:DeprecationWarning")


@pytest.fixture(scope="module")
def driver():
    with AppDriver.from_file(APP) as driver:
        yield driver


def upload(driver, session, name, body):
    """Post a file as the upload widget does: its bytes to the widget's own URL."""
    url = session["upload"].state["_url"]
    return driver.request("POST", f"{url}?name={name}", content=body,
                          headers={"content-type": "text/plain"})


def test_an_upload_counts_the_words_and_the_report_downloads(driver):
    page = driver.open_session()
    assert page["save"].disabled is True
    assert upload(driver, page, "story.txt", TEXT.encode()).status_code == 200
    page.wait_for("summary", value="story.txt: 10 words.")
    assert page["table"].data[:2] == [{"word": "the", "times": 3}, {"word": "cat", "times": 2}]
    page.click("save")
    answer = driver.request("GET", page.wait_for_download())
    assert "report.txt" in answer.headers["content-disposition"]
    assert answer.text.splitlines()[0] == "Top words in story.txt"
    assert answer.text.splitlines()[2].split() == ["the", "3"]


def test_the_files_belong_to_the_session_that_asked(driver):
    page = driver.open_session()
    assert upload(driver, page, "story.txt", TEXT.encode()).status_code == 200
    page.wait_for("summary", value="story.txt: 10 words.")
    page.click("save")
    url = page.wait_for_download()
    assert driver.request("GET", url, browser="someone else").status_code == 403
    stranger = driver.request("POST", f"{page['upload'].state['_url']}?name=x.txt",
                              content=b"hello", browser="someone else")
    assert stranger.status_code == 403
