"""The core runtime in real Chromium: the seed's counter app, sessions, widgets, reconnects."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import Server, spawn, wait_ready, wait_until_serving

HERE = Path(__file__).resolve().parent
IGNORED_CONSOLE = ("fonts.googleapis.com", "ERR_NAME_NOT_RESOLVED")


def watch_errors(page: Page) -> list[str]:
    """Collect page errors and console errors, except the offline Google Fonts import."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}")
            if msg.type == "error" and not any(s in msg.text for s in IGNORED_CONSOLE) else None)
    return errors


def open_app(page: Page, url: str) -> list[str]:
    errors = watch_errors(page)
    page.goto(url)
    wait_ready(page)
    return errors


def poll(page: Page, expression: str, timeout: float = 10.0) -> None:
    """Wait for a JavaScript expression to be true. `page.wait_for_function` would evaluate it
    with eval inside the page, which the app's Content-Security-Policy forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def counter_input(page: Page) -> Any:
    return page.locator("#counter input")


def test_seed_counter_app_counts_clicks(serve: Any, page: Page) -> None:
    server = serve(HERE / "counter")
    errors = open_app(page, server.url)
    expect(counter_input(page)).to_have_value("0")
    page.locator("#button button").click()
    expect(counter_input(page)).to_have_value("1")
    page.locator("#button button").click()
    expect(counter_input(page)).to_have_value("2")
    expect(page.locator("#numerous-splash")).to_be_hidden()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(240, 244, 255)", "static/css/styles.css was not applied"
    assert errors == []


def test_seed_app_runs_with_python_app_py(tmp_path: Path, page: Page) -> None:
    """Exactly what the seed README says: `python app.py`, which serves on 127.0.0.1:8000."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8000)) == 0:
            pytest.fail("port 8000 is in use; the seed app needs it for this test")
    shutil.copytree(HERE / "counter", tmp_path / "app")
    log = tmp_path / "server.log"
    process = spawn([sys.executable, "app.py"], tmp_path / "app", log)
    server = Server(process, "http://127.0.0.1:8000", log)
    try:
        wait_until_serving(server, 20)
        open_app(page, server.url)
        page.locator("#button button").click()
        expect(counter_input(page)).to_have_value("1")
    finally:
        server.stop()


def test_two_browsers_get_independent_sessions(serve: Any, browser: Browser) -> None:
    server = serve(HERE / "counter")
    first, second = browser.new_page(), browser.new_page()
    second_context = browser.new_context()
    third = second_context.new_page()
    try:
        for page in (first, second, third):
            open_app(page, server.url)
        first.locator("#button button").click()
        first.locator("#button button").click()
        expect(counter_input(first)).to_have_value("2")
        third.locator("#button button").click()
        expect(counter_input(third)).to_have_value("1")
        expect(counter_input(second)).to_have_value("0")
        expect(counter_input(first)).to_have_value("2")
        sessions = {p.evaluate("window.numerous.config.session") for p in (first, second, third)}
        assert len(sessions) == 3
    finally:
        second_context.close()


def test_shared_widgets_show_one_browsers_change_in_every_browser(serve: Any,
                                                                  browser: Browser) -> None:
    server = serve(HERE / "shared")
    contexts = [browser.new_context(), browser.new_context()]
    try:
        first, second = (context.new_page() for context in contexts)
        errors = open_app(first, server.url) + open_app(second, server.url)
        first.locator("#button button").click()
        expect(counter_input(second)).to_have_value("1")
        second.locator("#button button").click()
        second.locator("#button button").click()
        expect(counter_input(first)).to_have_value("3")
        counter_input(first).fill("10")
        counter_input(first).press("Enter")
        expect(counter_input(second)).to_have_value("10")
        late = contexts[1].new_page()
        open_app(late, server.url)
        expect(counter_input(late)).to_have_value("10")
        sessions = {p.evaluate("window.numerous.config.session") for p in (first, second, late)}
        assert len(sessions) == 3, "each page keeps a session of its own"
        assert errors == []
    finally:
        for context in contexts:
            context.close()


def test_slow_callback_delays_only_its_own_session(serve: Any, browser: Browser) -> None:
    server = serve(HERE / "two_speeds")
    slow_page, fast_page = browser.new_page(), browser.new_page()
    open_app(slow_page, server.url)
    open_app(fast_page, server.url)
    slow_page.locator("#slow button").click()
    expect(slow_page.locator("#status input")).to_have_value("working")
    fast_page.locator("#fast button").click()
    expect(fast_page.locator("#counter input")).to_have_value("1", timeout=1500)
    # The other session's callback is still sleeping: the fast click did not wait for it.
    expect(slow_page.locator("#status input")).to_have_value("working")
    expect(slow_page.locator("#status input")).to_have_value("done", timeout=5000)


def test_dropped_websocket_resumes_the_same_session(serve: Any, page: Page) -> None:
    server = serve(HERE / "counter")
    open_app(page, server.url)
    session = page.evaluate("window.numerous.config.session")
    page.locator("#button button").click()
    expect(counter_input(page)).to_have_value("1")
    statuses = page.evaluate("""() => {
        window.statuses = [];
        const connection = window.numerous.connection;
        const report = connection.onStatus;
        connection.onStatus = (status, detail) => { window.statuses.push(status);
                                                    report(status, detail); };
        connection.socket.close();
        return window.statuses;
    }""")
    assert statuses == []
    poll(page, "window.statuses.includes('waiting') && window.numerous.connection.status === 'ready'")
    expect(counter_input(page)).to_have_value("1")
    page.locator("#button button").click()
    expect(counter_input(page)).to_have_value("2")
    assert page.evaluate("window.numerous.config.session") == session
    expect(page.locator("#numerous-session-lost")).to_be_hidden()


def test_restarted_server_shows_session_lost_and_reload_works(serve: Any, page: Page) -> None:
    server = serve(HERE / "counter")
    open_app(page, server.url)
    page.locator("#button button").click()
    expect(counter_input(page)).to_have_value("1")
    server.stop()
    port = int(server.url.rsplit(":", 1)[1])
    serve(HERE / "counter", port=port)
    # The page reconnects, the new server does not know its session: the banner says so.
    expect(page.locator("#numerous-session-lost")).to_be_visible(timeout=15_000)
    page.locator("[data-numerous-reload]").click()
    wait_ready(page)
    expect(page.locator("#numerous-session-lost")).to_be_hidden()
    expect(counter_input(page)).to_have_value("0")
    page.locator("#button button").click()
    expect(counter_input(page)).to_have_value("1")


def test_gallery_renders_and_values_round_trip(serve: Any, page: Page) -> None:
    server = serve(HERE / "gallery")
    errors = open_app(page, server.url)
    mirror = page.locator("#mirror input")

    def server_values() -> dict[str, Any]:
        return dict(json.loads(mirror.input_value()))

    expect(mirror).to_have_value(json.dumps({"checkbox": False, "dropdown": "red",
                                             "number": 1.0, "slider": 2.0, "string": "abc",
                                             "tabs": "One"}, sort_keys=True))
    # Browser -> server
    page.locator("#number input").fill("5")
    page.locator("#number input").press("Enter")
    page.locator("#string input").fill("typed")
    page.locator("#checkbox input").check()
    page.locator("#tabs .tab", has_text="Two").click()
    page.locator("#slider input").fill("8")
    page.locator("#dropdown .custom-select").click()
    page.locator("#dropdown").get_by_text("green").click()
    expected = {"number": 5.0, "string": "typed", "checkbox": True, "tabs": "Two",
                "slider": 8.0, "dropdown": "green"}
    deadline = time.monotonic() + 10
    while server_values() != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server_values() == expected
    # Server -> browser
    page.locator("#set_values button").click()
    expect(page.locator("#number input")).to_have_value("42")
    expect(page.locator("#string input")).to_have_value("from server")
    expect(page.locator("#checkbox input")).to_be_checked()
    expect(page.locator("#slider input")).to_have_value("7")
    expect(page.locator("#dropdown .selected-value")).to_have_text("blue")
    expect(page.locator("#tabs .tab.active")).to_have_text("Three")
    # Every default-constructible widget rendered something, and nothing failed.
    for name in ("chart", "chat", "htmltemplate", "loadsavewidget", "mapselector",
                 "progressbar", "task", "text", "timelinechart", "timer", "toast", "urlparams"):
        assert page.locator(f"#default_{name}").count() == 1, name
        assert page.locator(f"#default_{name} .numerous-widget-error").count() == 0, name
    assert page.locator("#default_chat *").count() > 0
    assert errors == []


def test_custom_widget_messages_buffers_and_child_reference(serve: Any, page: Page) -> None:
    server = serve(HERE / "custom")
    errors = open_app(page, server.url)
    parent = page.locator("#parent")
    expect(parent.locator(".status")).to_have_text("initialized")
    expect(parent.locator(".blob")).to_have_text("blob:0,1,255")
    expect(parent.locator(".child-text")).to_have_text("child says hello")
    expect(page.locator("#child .child-label")).to_have_text("hello")
    parent.locator(".send").click()
    expect(parent.locator(".reply")).to_have_text("got bytes:250,3,2,1")
    expect(parent.locator(".blob")).to_have_text("blob:1,2,3,250")
    expect(parent.locator(".child-text")).to_have_text("child says 4 bytes")
    expect(page.locator("#child .child-label")).to_have_text("4 bytes")
    parent.locator(".upload").click()
    expect(parent.locator(".status")).to_have_text("upload:9,8,7")
    assert errors == []


def test_callback_error_shows_modal_in_dev_mode(serve: Any, page: Page, tmp_path: Path) -> None:
    app_dir = tmp_path / "broken"
    app_dir.mkdir()
    (app_dir / "index.html.j2").write_text("{{ button }}")
    (app_dir / "app.py").write_text(
        "import numerous.widgets as wi\n"
        "from numerous.apps import create_app\n"
        "def run_app():\n"
        "    def fail(event):\n"
        "        raise ValueError('the callback broke')\n"
        "    return {'button': wi.Button(label='Break', on_click=fail)}\n"
        "app = create_app(template='index.html.j2', dev=True, app_generator=run_app)\n")
    server = serve(app_dir)
    open_app(page, server.url)
    page.locator("#button button").click()
    modal = page.locator("#numerous-error-modal")
    expect(modal).to_be_visible()
    expect(modal.locator("[data-numerous-error-message]")).to_contain_text("the callback broke")
    expect(modal.locator("[data-numerous-error-traceback]")).to_contain_text("Traceback")
    modal.locator("[data-numerous-error-close]").click()
    expect(modal).to_be_hidden()
    page.locator("#button button").click()  # the session still works
    expect(modal).to_be_visible()
    assert httpx.get(server.url + "/").status_code == 200
