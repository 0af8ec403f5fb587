"""The core runtime in real Chromium: the seed's counter app, sessions, widgets, reconnects."""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from numerous.apps.testing import AppPage, Server, spawn, wait_until_serving

HERE = Path(__file__).resolve().parent


def open_app(page: Page, server: Any) -> AppPage:
    """The app in `page`, ready; its `errors` collect page and console errors from now on."""
    return AppPage(page).open(server)


def poll(page: Page, expression: str, timeout: float = 10.0) -> None:
    """Wait for a JavaScript expression to be true. `page.wait_for_function` would evaluate it
    with eval inside the page, which the app's Content-Security-Policy forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            pytest.fail(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


def test_seed_counter_app_counts_clicks(serve: Any, page: Page) -> None:
    server = serve(HERE / "counter")
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    app = open_app(page, server)
    # One socket: the page's inline script opened it (the policy let it run: no console
    # error) and the client took it over.
    assert sockets == [f"{server.url.replace('http', 'ws', 1)}/numerous/ws"]
    expect(app.input("counter")).to_have_value("0")
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
    app.button("button").click()
    expect(app.input("counter")).to_have_value("2")
    expect(app.splash).to_be_hidden()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(240, 244, 255)", "static/css/styles.css was not applied"
    assert app.errors == []


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
        app = open_app(page, server)
        app.button("button").click()
        expect(app.input("counter")).to_have_value("1")
    finally:
        server.stop()


def test_two_browsers_get_independent_sessions(serve: Any, browser: Browser) -> None:
    server = serve(HERE / "counter")
    first, second = browser.new_page(), browser.new_page()
    second_context = browser.new_context()
    third = second_context.new_page()
    try:
        apps = [open_app(page, server) for page in (first, second, third)]
        apps[0].button("button").click()
        apps[0].button("button").click()
        expect(apps[0].input("counter")).to_have_value("2")
        apps[2].button("button").click()
        expect(apps[2].input("counter")).to_have_value("1")
        expect(apps[1].input("counter")).to_have_value("0")
        expect(apps[0].input("counter")).to_have_value("2")
        assert len({app.session_id for app in apps}) == 3
    finally:
        second_context.close()


def test_shared_widgets_show_one_browsers_change_in_every_browser(serve: Any,
                                                                  browser: Browser) -> None:
    server = serve(HERE / "shared")
    contexts = [browser.new_context(), browser.new_context()]
    try:
        first, second = (open_app(context.new_page(), server) for context in contexts)
        first.button("button").click()
        expect(second.input("counter")).to_have_value("1")
        second.button("button").click()
        second.button("button").click()
        expect(first.input("counter")).to_have_value("3")
        first.input("counter").fill("10")
        first.input("counter").press("Enter")
        expect(second.input("counter")).to_have_value("10")
        late = open_app(contexts[1].new_page(), server)
        expect(late.input("counter")).to_have_value("10")
        sessions = {app.session_id for app in (first, second, late)}
        assert len(sessions) == 3, "each page keeps a session of its own"
        assert first.errors + second.errors == []
    finally:
        for context in contexts:
            context.close()


def test_slow_callback_delays_only_its_own_session(serve: Any, browser: Browser) -> None:
    server = serve(HERE / "two_speeds")
    slow, fast = open_app(browser.new_page(), server), open_app(browser.new_page(), server)
    slow.button("slow").click()
    expect(slow.input("status")).to_have_value("working")
    fast.button("fast").click()
    expect(fast.input("counter")).to_have_value("1", timeout=1500)
    # The other session's callback is still sleeping: the fast click did not wait for it.
    expect(slow.input("status")).to_have_value("working")
    expect(slow.input("status")).to_have_value("done", timeout=5000)


def test_dropped_websocket_resumes_the_same_session(serve: Any, page: Page) -> None:
    server = serve(HERE / "counter")
    app = open_app(page, server)
    session = app.session_id
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
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
    expect(app.input("counter")).to_have_value("1")
    app.button("button").click()
    expect(app.input("counter")).to_have_value("2")
    assert app.session_id == session
    expect(app.session_lost.banner).to_be_hidden()


def test_restarted_server_shows_session_lost_and_reload_works(serve: Any, page: Page) -> None:
    server = serve(HERE / "counter")
    app = open_app(page, server)
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")
    server.stop()
    port = int(server.url.rsplit(":", 1)[1])
    serve(HERE / "counter", port=port)
    # The page reconnects, the new server does not know its session: the banner says so.
    expect(app.session_lost.banner).to_be_visible(timeout=15_000)
    app.session_lost.reload.click()
    app.wait_ready()
    expect(app.session_lost.banner).to_be_hidden()
    expect(app.input("counter")).to_have_value("0")
    app.button("button").click()
    expect(app.input("counter")).to_have_value("1")


def test_gallery_renders_and_values_round_trip(serve: Any, page: Page) -> None:
    server = serve(HERE / "gallery")
    app = open_app(page, server)
    mirror = app.input("mirror")

    def server_values() -> dict[str, Any]:
        return dict(json.loads(mirror.input_value()))

    expect(mirror).to_have_value(json.dumps({"checkbox": False, "dropdown": "red",
                                             "number": 1.0, "slider": 2.0, "string": "abc",
                                             "tabs": "One"}, sort_keys=True))
    # Browser -> server
    app.input("number").fill("5")
    app.input("number").press("Enter")
    app.input("string").fill("typed")
    app.input("checkbox").check()
    # Tabs and Dropdown are numerous-widgets' own markup: their parts, inside the widget.
    app.widget("tabs").locator(".tab", has_text="Two").click()
    app.input("slider").fill("8")
    app.widget("dropdown").locator(".custom-select").click()
    app.widget("dropdown").get_by_text("green").click()
    expected = {"number": 5.0, "string": "typed", "checkbox": True, "tabs": "Two",
                "slider": 8.0, "dropdown": "green"}
    deadline = time.monotonic() + 10
    while server_values() != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server_values() == expected
    # Server -> browser
    app.button("set_values").click()
    expect(app.input("number")).to_have_value("42")
    expect(app.input("string")).to_have_value("from server")
    expect(app.input("checkbox")).to_be_checked()
    expect(app.input("slider")).to_have_value("7")
    expect(app.widget("dropdown").locator(".selected-value")).to_have_text("blue")
    expect(app.widget("tabs").locator(".tab.active")).to_have_text("Three")
    # Every default-constructible widget rendered something, and nothing failed.
    for name in ("chart", "chat", "htmltemplate", "loadsavewidget", "mapselector",
                 "progressbar", "task", "text", "timelinechart", "timer", "toast", "urlparams"):
        assert app.widget(f"default_{name}").count() == 1, name
        assert app.widget_error(f"default_{name}").count() == 0, name
    assert app.widget("default_chat").locator("*").count() > 0
    assert app.errors == []


def test_custom_widget_messages_buffers_and_child_reference(serve: Any, page: Page) -> None:
    server = serve(HERE / "custom")
    app = open_app(page, server)
    # The custom widgets' own markup (custom/app.py), inside each widget.
    parent = app.widget("parent")
    expect(parent.locator(".status")).to_have_text("initialized")
    expect(parent.locator(".blob")).to_have_text("blob:0,1,255")
    expect(parent.locator(".child-text")).to_have_text("child says hello")
    expect(app.widget("child").locator(".child-label")).to_have_text("hello")
    parent.locator(".send").click()
    expect(parent.locator(".reply")).to_have_text("got bytes:250,3,2,1")
    expect(parent.locator(".blob")).to_have_text("blob:1,2,3,250")
    expect(parent.locator(".child-text")).to_have_text("child says 4 bytes")
    expect(app.widget("child").locator(".child-label")).to_have_text("4 bytes")
    parent.locator(".upload").click()
    expect(parent.locator(".status")).to_have_text("upload:9,8,7")
    assert app.errors == []


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
    app = open_app(page, server)
    app.button("button").click()
    modal = app.error_modal
    expect(modal.dialog).to_be_visible()
    expect(modal.message).to_contain_text("the callback broke")
    expect(modal.traceback).to_contain_text("Traceback")
    modal.close.click()
    expect(modal.dialog).to_be_hidden()
    app.button("button").click()  # the session still works
    expect(modal.dialog).to_be_visible()
    assert httpx.get(server.url + "/").status_code == 200
