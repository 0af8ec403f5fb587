"""The testing harness in Chromium: served apps (thread and process), AppPage, login."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from numerous.apps.testing import AppPage, load_app

HERE = Path(__file__).resolve().parent
COUNTER_DIR = HERE / "counter"


def test_an_app_object_served_in_a_thread_in_chromium(numerous_server: Any,
                                                      numerous_page: AppPage) -> None:
    app = load_app(COUNTER_DIR)
    server = numerous_server(app)
    numerous_page.open(server)
    counter = numerous_page.widget("counter").locator("input")
    expect(counter).to_have_value("0")
    numerous_page.widget("button").locator("button").click()
    expect(counter).to_have_value("1")
    # The test process serves the app: its sessions are right here.
    (session,) = list(server.sessions)
    assert session.id == numerous_page.session_id
    assert session.widgets["counter"].value == 1
    assert numerous_page.errors == []


def test_an_app_py_served_by_a_process_in_chromium(numerous_server: Any,
                                                   numerous_page: AppPage) -> None:
    server = numerous_server(COUNTER_DIR / "app.py")
    numerous_page.open(server)
    numerous_page.widget("button").locator("button").click()
    numerous_page.widget("button").locator("button").click()
    expect(numerous_page.widget("counter").locator("input")).to_have_value("2")
    assert numerous_page.errors == []


def test_login_signs_the_page_in_before_it_opens_the_app(numerous_server: Any,
                                                         numerous_page: AppPage) -> None:
    users = [{"username": "ann", "password": "secret-password"}]
    server = numerous_server(HERE / "auth" / "env_app", env={
        "NUMEROUS_AUTH_USERS": json.dumps(users), "NUMEROUS_JWT_SECRET": secrets.token_hex(32)})
    with pytest.raises(AssertionError, match="answered 401"):
        numerous_page.login(server, "ann", "wrong")
    numerous_page.login(server, "ann", "secret-password")
    numerous_page.open(server)
    expect(numerous_page.widget("greeting").locator("input")).to_have_value("Hello ann")
    numerous_page.widget("button").locator("button").click()
    expect(numerous_page.widget("counter").locator("input")).to_have_value("1")
    assert numerous_page.errors == []


@pytest.mark.slow
def test_the_plugin_alone_gives_a_page_on_the_system_chromium(tmp_path: Path) -> None:
    """A project without this suite's conftest: the plugin's fixtures are all it needs."""
    (tmp_path / "test_project.py").write_text(textwrap.dedent(f"""
        from playwright.sync_api import expect

        def test_counter(numerous_server, numerous_page):
            numerous_page.open(numerous_server({str(COUNTER_DIR)!r}))
            numerous_page.widget("button").locator("button").click()
            expect(numerous_page.widget("counter").locator("input")).to_have_value("1")
    """))
    installed = any(ep.value == "numerous.apps.testing.plugin"
                    for ep in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "numerous.apps.testing.plugin"]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *plugin, "test_project.py"], check=False, cwd=tmp_path, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
