"""Dev mode's loading and its terminal: the same loader and words as `numerous run`, a server
that keeps watching through a broken file, and a line saying when the app loads again."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from numerous.apps.serving import DevServer
from numerous.apps.testing import free_port

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
