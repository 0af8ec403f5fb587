"""docs/tutorial.md, followed step by step against the installed package: bootstrap, numerous
dev with the page open in Chromium, the new layout, the new widget and its callback, the
tests, and `numerous run` behind HAProxy. Each step uses the files the tutorial shows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from numerous.apps.testing import AppPage, Server, free_port, spawn, wait_until_serving

from ._support import haproxy_path

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "examples" / "tutorial"
BIN = Path(sys.executable).parent


def test_the_tutorial_step_by_step(tmp_path: Path, page: Page) -> None:
    app_dir = bootstrap(tmp_path)
    dev = start(tmp_path, [str(BIN / "numerous"), "dev", "app.py"], app_dir, "dev")
    try:
        app = AppPage(page).open(dev)
        expect(page.locator("h1")).to_have_text("My Numerous App")

        # Step 3: a new layout; the open page reloads by itself.
        shutil.copy(TUTORIAL / "steps" / "layout.html.j2", app_dir / "index.html.j2")
        expect(page.locator("h1")).to_have_text("Fruit stand", timeout=10_000)
        app.wait_ready()

        # Step 4: the member discount, a widget and its callback.
        shutil.copy(TUTORIAL / "app.py", app_dir / "app.py")
        shutil.copy(TUTORIAL / "index.html.j2", app_dir / "index.html.j2")
        expect(app.input("member")).to_have_count(1, timeout=10_000)
        app.wait_ready()
        app.input("quantity").fill("10")
        expect(app.input("total")).to_have_value("10 × Apples = 12.00")
        app.input("member").check()
        expect(app.input("total")).to_have_value("10 × Apples = 10.80 (member price)")
        assert app.errors == []
        assert "app reloaded: app.py" in dev.output()
    finally:
        page.close()  # before its server goes, or it would keep trying to reconnect
        dev.stop()

    # Step 5: the tests, with the command the bootstrap printed.
    shutil.copy(TUTORIAL / "test_app.py", app_dir / "test_app.py")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=app_dir, capture_output=True, text=True, timeout=120, check=False)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert re.search(r"\b6 passed\b", tests.stdout.splitlines()[-1]), tests.stdout

    # Step 6: numerous run behind HAProxy, under /fruit.
    deploy(tmp_path, app_dir, page.context.new_page())


def bootstrap(tmp_path: Path) -> Path:
    """Step 1, as the README says: the app is created, installed, served, and the next steps
    are printed; Ctrl+C (SIGTERM here) stops it."""
    port = free_port()
    quiet_pip = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    process = subprocess.Popen([str(BIN / "numerous-bootstrap"), "my_app", "--port", str(port)],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=quiet_pip)
    try:
        deadline = time.monotonic() + 60  # pip checks the requirements first
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
    assert f"Serving my_app on http://127.0.0.1:{port}" in output, output
    steps = output.split("Next steps:")[1]
    assert "dev app.py" in steps and "-m pytest" in steps, output
    return tmp_path / "my_app"


def start(tmp_path: Path, command: list[str], cwd: Path, name: str) -> Server:
    port = free_port()
    log = tmp_path / f"{name}.log"
    server = Server(spawn([*command, "--port", str(port)], cwd, log),
                    f"http://127.0.0.1:{port}", log)
    wait_until_serving(server, 30)
    return server


def deploy(tmp_path: Path, app_dir: Path, page: Page) -> None:
    app_port, proxy_port = free_port(), free_port()
    config = (TUTORIAL / "haproxy.cfg").read_text()
    assert "127.0.0.1:8080" in config and "127.0.0.1:8000" in config
    config = config.replace("127.0.0.1:8080", f"127.0.0.1:{proxy_port}")
    (tmp_path / "haproxy.cfg").write_text(config.replace("127.0.0.1:8000",
                                                         f"127.0.0.1:{app_port}"))
    log = tmp_path / "run.log"
    run = Server(spawn([str(BIN / "numerous"), "run", "app.py", "--root-path", "/fruit",
                        "--port", str(app_port)], app_dir, log),
                 f"http://127.0.0.1:{app_port}", log)
    proxy = Server(spawn([haproxy_path(), "-f", "haproxy.cfg", "-db"], tmp_path,
                         tmp_path / "haproxy.log"), f"http://127.0.0.1:{proxy_port}/fruit",
                   tmp_path / "haproxy.log")
    try:
        wait_until_serving(run, 30)
        wait_until_serving(proxy, 30)
        app = AppPage(page).open(f"http://127.0.0.1:{proxy_port}/fruit/")
        expect(page.locator("h1")).to_have_text("Fruit stand")
        app.input("member").check()
        expect(app.input("total")).to_have_value("3 × Apples = 3.24 (member price)")
        app.button("button").click()
        expect(app.input("counter")).to_have_value("1")
        assert app.errors == []
        assert "Traceback" not in run.output()
    finally:
        proxy.stop()
        run.stop()
