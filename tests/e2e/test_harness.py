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
    counter = numerous_page.input("counter")
    expect(counter).to_have_value("0")
    numerous_page.button("button").click()
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
    numerous_page.button("button").click()
    numerous_page.button("button").click()
    expect(numerous_page.input("counter")).to_have_value("2")
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
    expect(numerous_page.input("greeting")).to_have_value("Hello ann")
    numerous_page.button("button").click()
    expect(numerous_page.input("counter")).to_have_value("1")
    assert numerous_page.errors == []


def test_the_page_locators_find_the_login_form_the_pages_parts_and_widgets(
        numerous_server: Any, numerous_page: AppPage) -> None:
    users = [{"username": "ann", "password": "secret-password"}]
    server = numerous_server(HERE / "auth" / "env_app", env={
        "NUMEROUS_AUTH_USERS": json.dumps(users), "NUMEROUS_JWT_SECRET": secrets.token_hex(32)})
    app = numerous_page.open(server, wait=False)  # sent to the login page
    form = app.login_form
    expect(form.error).to_have_count(0)
    form.username.fill("ann")
    form.password.fill("wrong")
    form.submit.click()
    expect(form.error).to_have_text("Invalid username or password")
    expect(form.username).to_have_value("ann")
    form.password.fill("secret-password")
    form.submit.click()
    app.wait_ready()
    # The page's own parts are there, and hidden while all is well.
    for part in (app.splash, app.session_lost.banner, app.error_modal.dialog):
        expect(part).to_have_count(1)
        expect(part).to_be_hidden()
    expect(app.session_lost.reload).to_have_count(1)
    expect(app.error_modal.close).to_have_count(1)
    expect(app.dev_overlay).to_have_count(0)  # not a `numerous dev` server
    # Widgets by key: the counter rendered, an unknown key finds nothing.
    expect(app.widget("counter")).to_have_count(1)
    expect(app.widget_error("counter")).to_have_count(0)
    expect(app.input("counter")).to_have_value("0")
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
    expect(app.input("no_such_widget")).to_have_count(0)
    assert [e for e in app.errors if "401" not in e] == []  # the wrong password's answer


@pytest.mark.slow
def test_the_plugin_alone_gives_a_page_on_the_system_chromium(tmp_path: Path) -> None:
    """A project without this suite's conftest: the plugin's fixtures are all it needs."""
    (tmp_path / "test_project.py").write_text(textwrap.dedent(f"""
        from playwright.sync_api import expect

        def test_counter(numerous_server, numerous_page):
            numerous_page.open(numerous_server({str(COUNTER_DIR)!r}))
            numerous_page.button("button").click()
            expect(numerous_page.input("counter")).to_have_value("1")
    """))
    installed = any(ep.value == "numerous.apps.testing.plugin"
                    for ep in entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "numerous.apps.testing.plugin"]
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *plugin, "test_project.py"], check=False, cwd=tmp_path, capture_output=True,
                            text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
