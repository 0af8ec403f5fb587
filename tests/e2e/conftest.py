"""End-to-end fixtures: real uvicorn servers on free 127.0.0.1 ports, Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("NUMEROUS_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("Chromium not found: install Debian's chromium or set NUMEROUS_CHROMIUM")
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    return {"executable_path": chromium_path(), "args": CHROMIUM_ARGS, "headless": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """An app served by a real uvicorn process."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(app_dir: Path, target: str = "app:app", env: dict[str, str] | None = None,
                 timeout: float = 20.0, port: int | None = None) -> Server:
    port = port or free_port()
    log = Path(tempfile.mkdtemp(prefix="numerous-e2e-")) / f"server-{port}.log"
    command = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(app_dir),
               "--host", "127.0.0.1", "--port", str(port)]
    process = spawn(command, app_dir, log, env)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    wait_until_serving(server, timeout)
    return server


def spawn(command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    """Start `command` with its output in `log` (the child keeps its own handle)."""
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})


def wait_until_serving(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.output()}")
        try:
            httpx.get(server.url + "/numerous/base.css", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"server did not start in {timeout} s:\n{server.output()}")


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(app_dir, target="app:app")` starts a server, stopped after the test."""
    servers: list[Server] = []

    def _serve(app_dir: Path, target: str = "app:app", env: dict[str, str] | None = None,
               port: int | None = None) -> Server:
        server = start_server(app_dir, target, env, port=port)
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.stop()


def wait_ready(page: Any, timeout: float = 15_000) -> None:
    """Wait until the client has rendered the app's widgets."""
    page.wait_for_function("document.documentElement.dataset.numerousReady === 'true'",
                           timeout=timeout)
