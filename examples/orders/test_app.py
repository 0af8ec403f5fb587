"""The orders example, in-process: run them with `python -m pytest` in this folder."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from numerous.apps.testing import AppDriver, AppPageError

HERE = Path(__file__).resolve().parent


@pytest.fixture
def driver() -> Iterator[AppDriver]:
    with AppDriver.from_file(HERE / "app.py") as driver:
        yield driver


def test_a_shared_link_opens_the_filtered_view(driver: AppDriver) -> None:
    s = driver.open_session("/?status=open&q=lamp")
    assert s["status"].value == "open" and s["search"].value == "lamp"
    assert [row["customer"] for row in s["table"].rows] == ["Ada"]


def test_a_bad_filter_in_the_url_is_ignored(driver: AppDriver) -> None:
    s = driver.open_session("/?status=lost")
    assert s["status"].value == "all" and len(s["table"].rows) == 8


def test_each_order_has_a_page_and_unknown_ones_do_not(driver: AppDriver) -> None:
    s = driver.open_session("/orders/3")
    assert s["order"].rows[0]["customer"] == "Linus"
    assert 'href="/"' in s.html
    with pytest.raises(AppPageError, match="404"):
        driver.open_session("/orders/99")


def test_a_csv_upload_fills_the_table_and_the_export_downloads_it(driver: AppDriver) -> None:
    s = driver.open_session()
    body = "id,customer,item,status,total\n20,Zoe,Lamp,open,12\n21,Yann,Desk,shipped,80\n"
    url = s.session.widgets["upload"]._url  # noqa: SLF001 - what the widget posts to
    answer = driver.request("POST", f"{url}?name=new.csv", content=body.encode(),
                            headers={"content-type": "text/csv"})
    assert answer.status_code == 200
    s.wait_for("table", lambda table: len(table.rows) == 2)
    s.set("status", value="shipped")
    s.send("export", {"click": True})
    exported = driver.request("GET", s.wait_for_download())
    assert "orders-shipped.csv" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["customer"] for row in rows] == ["Yann"]
