"""`numerous run`: a graceful shutdown ends the sessions and tells the open pages at once."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage, Server, free_port, spawn, wait_until_serving

HERE = Path(__file__).resolve().parent
NUMEROUS = str(Path(sys.executable).parent / "numerous")


def test_shutdown_tells_open_pages(tmp_path: Path, page: Page) -> None:
    port = free_port()
    log = tmp_path / "run.log"
    process = spawn([NUMEROUS, "run", "app.py", "--port", str(port)], HERE / "counter", log)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_serving(server, 20)
        app = AppPage(page).open(server)
        process.send_signal(signal.SIGTERM)
        # The banner, not minutes of reconnecting: the page was told its session ended.
        expect(app.session_lost.banner).to_be_visible(timeout=5_000)
        assert process.wait(15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    finally:
        server.stop()
    assert "Traceback" not in server.output()
