"""Dev mode's loading and its terminal: the same loader and words as `numerous run`, a server
that keeps watching through a broken file, and a line saying when the app loads again."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from numerous.apps._protocol import PROTOCOL_VERSION
from numerous.apps.serving import DevServer
from numerous.apps.testing import free_port

from ._auth_support import PAGE, env_provider, login
from ._support import TestClient, config_of, make_app, ws_message

BIN = Path(sys.executable).parent
NO_APP = "x = 1\n"
APP = """\
from numerous.apps import create_app
from numerous.widgets import Number


def run_app():
    return {"n": Number(default=1, label="n")}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)
"""
MISSING = "defines no app: call create_app() and name the result `app`, or pass --app NAME"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "index.html.j2").write_text("{{ n }}")
    return tmp_path


def test_dev_reports_a_missing_app_in_runs_words_and_keeps_watching(
        folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    (folder / "app.py").write_text(NO_APP)
    with caplog.at_level(logging.INFO, "numerous.apps"):
        server = DevServer(folder / "app.py")
    assert server.app is None
    assert server.error == f"app.py {MISSING}"  # the page shows the one line, no traceback
    assert f"app.py {MISSING} (still watching {folder.resolve()}" in caplog.text
    assert "Traceback" not in caplog.text


async def test_a_recovery_is_logged_as_app_reloaded(folder: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = folder / "app.py"
    path.write_text(APP)
    server = DevServer(path)
    path.write_text(APP + "\nthis is not python(\n")
    with caplog.at_level(logging.INFO, "numerous.apps"):
        await server.changed({path})
        assert server.app is None and "SyntaxError" in caplog.text
        caplog.clear()
        path.write_text(APP)
        await server.changed({path})
    assert server.app is not None
    assert caplog.messages[-1] == "app reloaded: app.py loads again (app.py changed)"
    with caplog.at_level(logging.INFO, "numerous.apps"):
        await server.changed({path})
    assert caplog.messages[-1] == "app reloaded: app.py (app.py changed)"


def test_run_and_dev_word_a_missing_app_the_same_way(folder: Path) -> None:
    (folder / "app.py").write_text(NO_APP)
    run = subprocess.run([str(BIN / "numerous"), "run", "app.py", "--port", str(free_port())],
                         cwd=folder, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert run.stderr.strip() == f"Error: app.py {MISSING}"

    dev = subprocess.Popen([str(BIN / "numerous"), "dev", "app.py", "--port", str(free_port())],
                           cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    try:
        lines = _lines_until(dev, "Uvicorn running")
        assert dev.poll() is None, "dev keeps serving and watching"
        (folder / "app.py").write_text(APP)
        lines += _lines_until(dev, "app reloaded")
    finally:
        dev.terminate()
        dev.communicate(timeout=10)
    said = [line for line in lines if MISSING in line]
    assert said == [f"ERROR:    app.py {MISSING} (still watching {folder.resolve()}: save a fix "
                    "and the app loads)"], lines
    assert lines[-1].strip() == "INFO:     app reloaded: app.py loads again (app.py changed)"


def _lines_until(process: subprocess.Popen[str], text: str, seconds: float = 30) -> list[str]:
    """The process's output lines up to the first that contains `text`."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"the process ended before {text!r}: {lines}")
        lines.append(line.rstrip("\n"))
        if text in line:
            return lines
    pytest.fail(f"no {text!r} within {seconds} s: {lines}")


# --- new code, the same page: swapped in without a reload --------------------------------------

SWAP_TEMPLATE = "<p>{{ n }}</p>"


def _ws_hello(ws: Any, session: str, page: str) -> None:
    ws.send_text(json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION, "session": session,
                             "page": page, "url": "/"}))


def _until_ready(ws: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    opens = []
    while (message := ws_message(ws))["type"] != "ready":  # type: ignore[index]
        opens.append(message)
    return opens, message  # type: ignore[return-value]


async def _not_watching() -> None:
    """The test says what changed (`DevServer.changed`), not the file watcher."""


def test_new_code_for_the_same_page_swaps_its_session_in_without_a_reload(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (folder / "index.html.j2").write_text(SWAP_TEMPLATE)
    path = folder / "app.py"
    path.write_text(APP)
    server = DevServer(path)
    monkeypatch.setattr(server, "watch", _not_watching)
    swap = {"X-Numerous-Swap": "1"}
    with TestClient(server) as client:
        page = client.get("/")
        tag, config = page.headers["etag"], config_of(page.text)
        with client.websocket_connect(config["ws"]) as ws:
            _ws_hello(ws, config["session"], "P1")
            _until_ready(ws)
            _ws_update(ws, config["widgets"]["n"], 3)
            path.write_text(APP.replace('label="n"', 'label="m"'))
            client.portal.call(server.changed, {path})
            assert ws_message(ws) == {"type": "reload", "tag": tag}  # the page it was built from

        # The page asks for itself with that tag: unchanged, so a 304 and a session held.
        again = client.get("/", headers={"If-None-Match": tag, **swap})
        assert again.status_code == 304
        with client.websocket_connect(config["ws"]) as ws:
            _ws_hello(ws, config["session"], "P1")  # the same document, the old session's id
            opens, ready = _until_ready(ws)
            assert ready["session"] != config["session"]
            number = next(m for m in opens if m["id"] == ready["widgets"]["n"])
            assert number["id"] != config["widgets"]["n"]
            assert number["state"]["ui_label"] == "m"  # the new code's widget
            assert number["state"]["value"] == 3  # with the value the browser had set
            _ws_update(ws, number["id"], 5)

            # New code and a new template: the page is not the same; it must reload.
            (folder / "index.html.j2").write_text("<h1>New</h1>" + SWAP_TEMPLATE)
            path.write_text(APP)
            client.portal.call(server.changed, {path, folder / "index.html.j2"})
            assert ws_message(ws) == {"type": "reload", "tag": tag}
        assert client.get("/", headers={"If-None-Match": tag, **swap}).status_code == 200
        # That question used up nothing: the reload's session gets the browser's value.
        reloaded = config_of(client.get("/").text)
        with client.websocket_connect(config["ws"]) as ws:
            _ws_hello(ws, reloaded["session"], "P2")
            opens, _ = _until_ready(ws)
        number = next(m for m in opens if m["id"] == reloaded["widgets"]["n"])
        assert number["state"]["value"] == 5

        # A template edit alone reloads the page, without a tag to ask with.
        with client.websocket_connect(config["ws"]) as ws:
            _ws_hello(ws, reloaded["session"], "P2")
            _until_ready(ws)
            (folder / "index.html.j2").write_text(SWAP_TEMPLATE)
            client.portal.call(server.changed, {folder / "index.html.j2"})
            assert ws_message(ws) == {"type": "reload"}


def _ws_update(ws: Any, model_id: str, value: int) -> None:
    ws.send_text(json.dumps({"type": "update", "id": model_id, "state": {"value": value},
                             "seq": 1}))


def test_a_signed_in_page_in_dev_mode_may_be_asked_for_with_its_tag(tmp_path: Path) -> None:
    for dev in (True, False):
        app = make_app(tmp_path / f"app-{dev}", env_provider(), dev=dev)
        with TestClient(app) as client:
            assert login(client, "ann").status_code == 200
            page = client.get("/", headers=PAGE)
            assert "etag" not in page.headers  # never kept by the browser
            session = next(iter(app.numerous.sessions))
            if not dev:
                assert session.page_tag is None
                continue
            again = client.get("/", headers={**PAGE, "If-None-Match": session.page_tag})
            assert again.status_code == 304
            assert again.headers["cache-control"] == "no-store"
