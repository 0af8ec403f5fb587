"""The wheel ships what a user needs: install it into a fresh venv, bootstrap, serve, fetch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import httpx
import pytest

from numerous.apps.testing import Server, free_port, spawn, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_installs_bootstraps_and_serves(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
                    str(ROOT)], check=True)
    wheel = next(dist.glob("numerous_apps-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"{wheel}[widgets]"], check=True)

    project = tmp_path / "my_app"
    subprocess.run([str(env_dir / "bin" / "numerous-bootstrap"), str(project), "--skip-deps",
                    "--run-skip"], check=True, cwd=tmp_path)
    assert (project / "app.py").is_file() and (project / "index.html.j2").is_file()

    port = free_port()
    log = tmp_path / "server.log"
    process = spawn([str(env_dir / "bin" / "numerous"), "run", "app.py", "--port", str(port)],
                    project, log)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_serving(server, 30)
        page = httpx.get(server.url + "/")
        assert page.status_code == 200, server.output()
        client = re.search(r'src="(/numerous/js/[^"]+/main\.js)"', page.text)
        assert client, page.text
        main_js = httpx.get(server.url + client.group(1))
        assert main_js.status_code == 200 and "import" in main_js.text
        for asset in re.findall(r'href="(/numerous/assets/[^"]+)"', page.text):
            assert httpx.get(server.url + asset).status_code == 200
        assert httpx.get(server.url + "/static/css/styles.css").status_code == 200
        assert "--numerous-primary" in httpx.get(server.url + "/numerous/base.css").text
    finally:
        server.stop()
    installed = subprocess.run([str(python), "-c", "import numerous.apps, numerous.cli, "
                                "numerous.widgets; print('ok')"], capture_output=True, text=True)
    assert installed.stdout.strip() == "ok", installed.stderr

    # The bootstrap installs what the app's tests need into this Python (pytest was not there),
    # and its next steps name the command that runs them with it.
    assert subprocess.run([str(python), "-c", "import pytest"], capture_output=True).returncode
    tested = subprocess.run([str(env_dir / "bin" / "numerous-bootstrap"), "tested_app",
                             "--run-skip"], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}, check=False)
    assert tested.returncode == 0, tested.stdout[-2000:] + tested.stderr[-2000:]
    command = re.search(r"^  (\S+) -m pytest", tested.stdout, re.M)
    assert command, tested.stdout
    run = subprocess.run([command.group(1), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=tmp_path / "tested_app", capture_output=True, text=True, timeout=180,
                         check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(r"\b5 passed\b", run.stdout.splitlines()[-1]), run.stdout
