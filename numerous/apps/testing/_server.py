"""Apps served for real, on a free 127.0.0.1 port: an app object by uvicorn in a thread of the
test process, an `app.py` by uvicorn in a subprocess, as `numerous run` would serve it."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, Self

import httpx
import uvicorn

from numerous.apps._sessions import SessionManager

from ._loading import app_file

HOST = "127.0.0.1"
_PROBE = "/numerous/base.css"
_LOGGERS = ("uvicorn", "numerous")


class Served(Protocol):
    """What both kinds of served app offer a test."""

    url: str

    def output(self) -> str: ...

    def stop(self) -> None: ...


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- a subprocess ---------------------------------------------------------------------------


class Server:
    """An app served by a uvicorn process; `output()` is what it printed."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __repr__(self) -> str:
        return f"<Server {self.url} pid={self.process.pid}>"


def spawn(command: list[str], cwd: Path, log: Path, env: Mapping[str, str] | None = None
          ) -> subprocess.Popen[bytes]:
    """Start `command` with its output in `log` (the child keeps its own handle)."""
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})


def wait_until_serving(server: Server, timeout: float) -> None:
    """Wait until the server answers HTTP; fail with its output if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.output()}")
        try:
            httpx.get(server.url + _PROBE, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"server did not start in {timeout} s:\n{server.output()}")


def start_server(app_dir: Path, target: str = "app:app", env: Mapping[str, str] | None = None,
                 timeout: float = 60.0, port: int | None = None) -> Server:
    """Serve `target` (`module:attribute`) from `app_dir` with `python -m uvicorn`."""
    port = port or free_port()
    log = Path(tempfile.mkdtemp(prefix="numerous-server-")) / f"server-{port}.log"
    command = [sys.executable, "-m", "uvicorn", target, "--app-dir", str(app_dir),
               "--host", HOST, "--port", str(port)]
    process = spawn(command, app_dir, log, env)
    server = Server(process, f"http://{HOST}:{port}", log)
    wait_until_serving(server, timeout)
    return server


def start_redis(folder: Path, port: int | None = None,
                timeout: float = 10.0) -> tuple[subprocess.Popen[bytes], int]:
    """A throwaway `redis-server` on 127.0.0.1 (no persistence, its files in `folder`), for
    tests of an app with a session store or a shared cache, and of what it does when Redis
    goes away (kill the process). Returns the process and its port, once it answers PING."""
    port = port or free_port()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    process = subprocess.Popen(
        [binary, "--bind", HOST, "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1.0) as conn:
            conn.sendall(b"PING\r\n")
            if conn.recv(16).startswith(b"+PONG"):
                return process, port
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.05)


# --- a thread of the test process -------------------------------------------------------------


class ThreadedServer:
    """An app object served by uvicorn in a thread of the test process.

    The test can look at the app while it serves: `server.sessions` is its live sessions.
    `env` is set in `os.environ` while the server runs (and restored after).
    """

    def __init__(self, app: Any, *, port: int = 0, env: Mapping[str, str] | None = None,
                 log_level: str = "warning") -> None:
        self.app = app
        self.env = dict(env or {})
        self.config = uvicorn.Config(app, host=HOST, port=port, log_config=None,
                                     log_level=log_level, timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(self.config)
        self.url = ""
        self._thread = threading.Thread(target=self.server.run, name="numerous-test-server",
                                        daemon=True)
        self._log = io.StringIO()
        self._handler = logging.StreamHandler(self._log)
        self._handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self._saved_env: dict[str, str | None] = {}

    @property
    def sessions(self) -> SessionManager:
        """The app's live sessions (`len(server.sessions)`, `for s in server.sessions`)."""
        return self.app.numerous.sessions  # type: ignore[no-any-return]

    def start(self, timeout: float = 60.0) -> Self:
        self._saved_env = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        for name in _LOGGERS:
            logging.getLogger(name).addHandler(self._handler)
        with warnings.catch_warnings():
            # uvicorn imports websockets' legacy API when it loads its protocols; do that here,
            # where a DeprecationWarning is not turned into an error in the server's thread.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.config.load()
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the app did not start serving in {timeout} s:\n"
                                   f"{self.output()}")
            time.sleep(0.01)
        self.url = f"http://{HOST}:{self._bound_port()}"
        return self

    def _bound_port(self) -> int:
        for server in self.server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.config.port)

    def output(self) -> str:
        """What the server and the app logged while serving (warnings and up by default)."""
        return self._log.getvalue()

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(15)
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(self._handler)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env = {}

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ThreadedServer {self.url or '(not started)'}>"


def serve_app(target: Any, *, env: Mapping[str, str] | None = None, port: int | None = None,
              attribute: str = "app", timeout: float = 20.0) -> ThreadedServer | Server:
    """Serve an app object (in a thread) or an `app.py` / app folder (in a subprocess).

    `env` goes to the subprocess's environment, or into `os.environ` while a thread serves.
    The caller stops the result: `server.stop()`.
    """
    if isinstance(target, str | Path):
        path = app_file(target).resolve()
        return start_server(path.parent, f"{path.stem}:{attribute}", env, timeout, port)
    return ThreadedServer(target, port=port or 0, env=env).start(timeout)


@contextlib.contextmanager
def served(target: Any, **options: Any) -> Iterator[ThreadedServer | Server]:
    """`with served(app) as server:` — `serve_app`, stopped on the way out."""
    server = serve_app(target, **options)
    try:
        yield server
    finally:
        server.stop()
