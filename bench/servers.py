"""The frameworks under test and their servers: interpreters, processes, /proc figures.

Ours, the reference (numerous-apps 0.6.2) and the peers of bench/peers.py."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from .peers import OURS_PAGE, PEER_APPS, PEERS, PageSpec, Peer, ensure_venv

BENCH = Path(__file__).resolve().parent
APPS = BENCH / "apps"
REF_VENV = BENCH / ".ref-venv"
REF_PACKAGES = ["numerous-apps==0.6.2", "numerous-widgets==0.3.0", "playwright", "websockets",
                "httpx"]


@dataclass(frozen=True)
class Framework:
    """A framework build: `ours` (this repository), `reference` (numerous-apps 0.6.2) or a
    peer (bench/peers.py), which serves its own app files and renders its own DOM."""

    name: str
    python: str
    peer: Peer | None = None

    @property
    def is_ours(self) -> bool:
        return self.name == "ours"

    @property
    def page(self) -> PageSpec:
        return self.peer.page if self.peer else OURS_PAGE

    def has_app(self, app: str) -> bool:
        if self.peer is None:
            return (APPS / app).is_dir()
        return (PEER_APPS / self.name / f"{app}.py").exists()

    def url_path(self, app: str) -> str:
        return self.peer.url_path(app) if self.peer else "/"


def ours() -> Framework:
    """This repository's framework, in the interpreter running the bench."""
    return Framework("ours", sys.executable)


def reference(log: Path | None = None) -> Framework:
    """numerous-apps 0.6.2 in bench/.ref-venv, created with pyenv's Python 3.12 if missing."""
    python = REF_VENV / "bin" / "python"
    if not python.exists():
        _create_ref_venv(log)
    return Framework("reference", str(python))


def peer(name: str, log: Path | None = None) -> Framework:
    """A peer of bench/peers.py in its own venv (bench/.venv-<name>), made on first use."""
    spec = PEERS[name]
    return Framework(name, str(ensure_venv(spec, log)), spec)


def select(names: list[str], log_dir: Path) -> list[Framework]:
    """Frameworks by name: `ours`, `reference` and the peers' names."""
    chosen = []
    for name in names:
        if name == "ours":
            chosen.append(ours())
        elif name == "reference":
            chosen.append(reference(log=log_dir / "ref-venv.log"))
        elif name in PEERS:
            chosen.append(peer(name, log=log_dir / f"{name}-venv.log"))
        else:
            raise SystemExit(f"unknown framework {name!r}: ours, reference, {', '.join(PEERS)}")
    return chosen


def _create_ref_venv(log: Path | None) -> None:
    base = _python312()
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        subprocess.run([base, "-m", "venv", str(REF_VENV)], check=True, stdout=out, stderr=out)
        subprocess.run([str(REF_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
                        *REF_PACKAGES], check=True, stdout=out, stderr=out)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def _python312() -> str:
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() \
        if shutil.which("pyenv") else os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(f"{root}/versions/3.12.*/bin/python"))
    if not found:
        raise SystemExit("the reference needs Python 3.12: `pyenv install 3.12` (or pass --no-ref)")
    return found[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One framework serving one bench app with uvicorn on a free 127.0.0.1 port."""

    def __init__(self, framework: Framework, app: str, log: Path, *,
                 env: dict[str, str] | None = None, command: list[str] | None = None,
                 app_dir: Path | None = None, dev: bool = False,
                 uvicorn_args: tuple[str, ...] = ()) -> None:
        self.framework = framework
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.page_url = self.url + framework.url_path(app)
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(env or {})
        if framework.peer is not None and command is None:
            # A peer serves its own file for the app, started as its docs deploy it.
            app_dir = app_dir or PEER_APPS / framework.name
            command = framework.peer.argv(app, self.port, dev)
            env.update(framework.peer.environment(self.port, dev))
        self.app_dir = app_dir or APPS / app
        command = command or [framework.python, "-m", "uvicorn", "app:app", "--app-dir", ".",
                              "--host", "127.0.0.1", "--port", str(self.port),
                              "--log-level", "warning", "--no-access-log", *uvicorn_args]
        with log.open("ab") as output:
            # The reference takes its base directory from the working directory: run in the app's.
            self.process = subprocess.Popen(
                [c.replace("{port}", str(self.port)) for c in command], cwd=self.app_dir,
                stdout=output, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env})

    def wait_serving(self, timeout: float = 30.0) -> Server:
        """Until the port answers HTTP (a 404 path, so that no session is created)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.framework.name} server exited:\n{self.tail()}")
            try:
                httpx.get(self.url + "/__bench_probe", timeout=1.0)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.framework.name} server did not start:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return proc_rss_kib(self.pid)

    def threads(self) -> int:
        return proc_threads(self.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def __enter__(self) -> Server:
        return self.wait_serving()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kib(pid: int) -> int:
    """VmRSS of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def proc_threads(pid: int) -> int:
    """Threads of a process: entries of /proc/<pid>/task."""
    return len(os.listdir(f"/proc/{pid}/task"))
