"""Files over HTTP: the upload route (limit, owner, clean-up) and one-time downloads."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anywidget
import pytest
import traitlets

from numerous.apps import Upload, UploadedFile, _files, create_app, current_session, download
from numerous.apps._assets import ASSETS
from numerous.apps._files import content_disposition, file_response, files_of, safe_filename
from numerous.apps.testing import AppDriver

from ._support import wait_until

received: list[tuple[str, int, str, str, bool]] = []


class Trigger(anywidget.AnyWidget):
    """Starts a download of what the message asks for; keeps the URL for the test."""

    _esm = "export default {}"
    url = traitlets.Unicode("").tag(sync=True)

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.on_msg(self._on)

    def _on(self, _: Any, content: dict[str, Any], buffers: Any) -> None:
        kind = content["kind"]
        if kind == "bytes":
            self.url = download(b"a,b\n1,2\n", "r\u00e9sum\u00e9 \u65e5\u672c.csv", "text/csv")
        elif kind == "path":
            self.url = download(self.folder / "big.bin", "big.bin")
        elif kind == "chunks":
            self.url = download((b"x" * 1000 for _ in range(100)), "chunks.txt")


def remember(file: UploadedFile) -> None:
    digest = hashlib.sha256(file.file.read()).hexdigest()
    received.append((file.name, file.size, file.content_type, digest,
                     current_session() is not None))


def make_app(tmp_path: Path, **kwargs: Any) -> Any:
    (tmp_path / "index.html.j2").write_text("<main>{{ upload }}{{ trigger }}</main>")
    (tmp_path / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))

    def run_app() -> dict[str, Any]:
        return {"upload": Upload(on_file=remember), "trigger": Trigger(tmp_path)}

    return create_app(template="index.html.j2", base_dir=tmp_path, app_generator=run_app,
                      **kwargs)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[AppDriver]:
    received.clear()
    with AppDriver(make_app(tmp_path, max_upload_bytes=4 * 1024 * 1024)) as driver:
        yield driver


def upload_url(page: Any) -> str:
    return str(page.session.widgets["upload"]._url)  # noqa: SLF001


# --- upload ---------------------------------------------------------------------------------


def test_an_upload_reaches_the_callback_on_the_session_thread_with_its_bytes(
        driver: AppDriver) -> None:
    page = driver.open_session()
    data = os.urandom(2 * 1024 * 1024 + 17)
    response = driver.request("POST", f"{upload_url(page)}?name=../../etc/data.csv",
                              content=data, headers={"content-type": "text/csv"})
    assert response.status_code == 200, response.text
    assert received == [("data.csv", len(data), "text/csv", hashlib.sha256(data).hexdigest(),
                         True)]
    page.wait_for("upload", lambda w: len(w.uploaded) == 1)
    assert page["upload"].uploaded[0]["name"] == "data.csv"


def test_a_file_over_the_limit_gets_413_and_never_reaches_the_callback(
        driver: AppDriver) -> None:
    page = driver.open_session()
    too_big = b"x" * (4 * 1024 * 1024 + 1)
    declared = driver.request("POST", upload_url(page), content=too_big)
    assert declared.status_code == 413 and "4 MB" in declared.json()["error"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streamed
        for _ in range(5):
            yield b"x" * (1024 * 1024)

    streamed = driver.request("POST", upload_url(page), content=chunks())
    assert streamed.status_code == 413
    assert received == []
    assert files_of(page.session).receiving == set(), "the temporary file is gone"


def test_upload_urls_belong_to_the_sessions_browser_and_this_site(driver: AppDriver) -> None:
    page = driver.open_session()
    url = upload_url(page)
    assert driver.request("POST", url, content=b"x", browser="other").status_code == 403
    cross = driver.request("POST", url, content=b"x", headers={"origin": "https://evil.example"})
    assert cross.status_code == 403
    forged = url.replace(files_of(page.session).token, "not-a-token")
    assert driver.request("POST", forged, content=b"x").status_code == 404
    assert received == []


def test_temporary_files_are_removed_after_the_callback(
        driver: AppDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    spools: list[Any] = []
    real = _files.tempfile.SpooledTemporaryFile

    def spy(*args: Any, **kwargs: Any) -> Any:
        spools.append(real(*args, **kwargs))
        return spools[-1]

    monkeypatch.setattr(_files.tempfile, "SpooledTemporaryFile", spy)
    page = driver.open_session()
    assert driver.request("POST", upload_url(page), content=b"y" * 3_000_000).status_code == 200
    assert len(spools) == 1 and spools[0].closed
    assert spools[0]._rolled, "a large upload went to disk, not memory"  # noqa: SLF001


def test_a_session_that_ends_mid_upload_removes_the_temporary_file(
        driver: AppDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    spools: list[Any] = []
    real = _files.tempfile.SpooledTemporaryFile
    monkeypatch.setattr(_files.tempfile, "SpooledTemporaryFile",
                        lambda *a, **k: spools.append(real(*a, **k)) or spools[-1])
    page = driver.open_session()
    session = page.session

    async def body() -> AsyncIterator[bytes]:
        yield b"z" * 100_000
        session.end()  # the page goes away while its file is on the way
        await asyncio.sleep(0.3)
        yield b"z" * 100_000

    response = driver.request("POST", upload_url(page), content=body())
    assert response.status_code in (404, 410)
    assert received == []
    wait_until(lambda: spools and spools[0].closed)


# --- download -------------------------------------------------------------------------------


def start_download(driver: AppDriver, page: Any, kind: str) -> str:
    page.send("trigger", {"kind": kind})
    page.wait_for("trigger", lambda w: bool(w.url))
    return str(page["trigger"].url)


def test_a_download_is_one_time_for_the_sessions_browser_with_an_exact_name(
        driver: AppDriver) -> None:
    page = driver.open_session()
    url = start_download(driver, page, "bytes")
    assert driver.request("GET", url, browser="other").status_code == 403
    response = driver.request("GET", url)
    assert response.status_code == 200
    assert response.content == b"a,b\n1,2\n"
    assert response.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC.csv" in (
        response.headers["content-disposition"])
    assert driver.request("GET", url).status_code == 404, "used once"


def test_files_and_iterators_are_streamed(driver: AppDriver, tmp_path: Path) -> None:
    page = driver.open_session()
    path_response = driver.request("GET", start_download(driver, page, "path"))
    assert path_response.content == (tmp_path / "big.bin").read_bytes()
    page.set("trigger", url="")
    chunks = driver.request("GET", start_download(driver, page, "chunks"))
    assert chunks.content == b"x" * 100_000


def test_the_page_is_told_to_fetch_the_download(driver: AppDriver) -> None:
    page = driver.open_session()
    url = start_download(driver, page, "bytes")
    told = [m for m in page.view.log if m.get("type") == "download"]
    assert told == [{"type": "download", "url": url,
                     "filename": "r\u00e9sum\u00e9 \u65e5\u672c.csv"}]


def test_an_unused_download_expires(driver: AppDriver) -> None:
    page = driver.open_session()
    driver.app.numerous.extension("files").download_ttl = 0.0
    url = start_download(driver, page, "bytes")
    assert driver.request("GET", url).status_code == 404


def test_a_closed_session_forgets_its_downloads(driver: AppDriver) -> None:
    page = driver.open_session()
    url = start_download(driver, page, "bytes")
    page.session.end()
    wait_until(lambda: not page.session.alive)
    assert driver.request("GET", url).status_code == 404


# --- the parts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "safe"), [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\x\\report.csv", "report.csv"),
    ("a\x00b\nc.txt", "abc.txt"), ("..", "upload"), ("", "upload"), ("what?.txt", "what_.txt"),
    ("x" * 300, "x" * 200)])
def test_file_names_name_no_directory(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name() -> None:
    header = content_disposition("r\u00e9sum\u00e9 2024.csv")
    assert header == ("attachment; filename=\"r_sum_ 2024.csv\"; "
                      "filename*=UTF-8''r%C3%A9sum%C3%A9%202024.csv")
    assert 'filename="a_b.txt"' in content_disposition('a"b.txt')


def test_an_iterator_is_not_read_before_the_response_is_sent() -> None:
    pulled: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(3):
            pulled.append(i)
            yield b"x"

    response = file_response(chunks(), "a.bin", "application/octet-stream")
    assert pulled == [], "nothing is read (nothing held in memory) until the body is sent"
    assert response.headers["content-disposition"].startswith("attachment")


def test_a_closed_session_leaves_nothing_in_the_registries(driver: AppDriver) -> None:
    page = driver.open_session()
    session = page.session
    registry = driver.app.numerous.extension("files")
    assert files_of(session).token in registry.sessions
    session.end()
    wait_until(lambda: not session.alive)
    assert registry.sessions == {} and registry.downloads == {}
    assert session not in _files._by_session  # noqa: SLF001


def test_a_page_that_never_downloads_holds_no_widget_for_it(driver: AppDriver) -> None:
    page = driver.open_session()
    assert set(page.session.comms) == {w.model_id for w in page.session.widgets.values()} | {
        w.layout.model_id for w in page.session.widgets.values()}, "the app's widgets alone"
