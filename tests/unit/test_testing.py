"""The in-process driver: pages, clicks, values, custom messages and waiting, as a browser."""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import numerous.widgets as wi
import pytest
import traitlets
from fastapi import Request, Response

from numerous.apps import NumerousApp, combine_apps, create_app
from numerous.apps._runtime import Identity
from numerous.apps.testing import (
    AppDriver,
    AppPageError,
    AsyncAppDriver,
    Message,
    UnknownWidget,
    WaitTimeout,
)

ESM = "export default { render() {} }"
REPO = Path(__file__).resolve().parents[2]


class Box(anywidget.AnyWidget):
    _esm = ESM
    value = traitlets.Int(0).tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)


class Blob(anywidget.AnyWidget):
    """Answers custom messages with the bytes reversed; keeps the last bytes as binary state."""

    _esm = ESM
    data = traitlets.Bytes(b"\x00\x01").tag(sync=True)
    upload = traitlets.Bytes(b"").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)


def build_app(tmp_path: Path, run_app: Any, template: str | None = None,
              **options: Any) -> NumerousApp:
    """An app in `tmp_path` whose template places every widget `run_app` returns."""
    (tmp_path / "index.html.j2").write_text(template or "<main>{{ main }}</main>")
    return create_app("index.html.j2", app_generator=run_app, base_dir=tmp_path, **options)


def counter_app() -> dict[str, Any]:
    counter = wi.Number(default=0, label="Clicks:")
    button = wi.Button(label="Add", on_click=lambda _: setattr(counter, "value",
                                                                counter.value + 1))
    name, greeting = Box(), Box()
    name.observe(lambda change: setattr(greeting, "text", f"Hello, {change['new']}!"), "text")
    return {"counter": counter, "button": button, "name": name, "greeting": greeting}


COUNTER_TEMPLATE = "<main>{{ counter }} {{ button }} {{ name }} {{ greeting }}</main>"


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Any:
    app = build_app(tmp_path_factory.mktemp("counter"), counter_app, COUNTER_TEMPLATE)
    with AppDriver(app, timeout=3.0) as driver:
        yield driver


@pytest.fixture
def tab(driver: AppDriver) -> Any:
    session = driver.open_session()
    yield session
    session.close()


# --- reading and acting -----------------------------------------------------------------------


def test_a_widget_inside_another_is_reached_by_a_dotted_path(tmp_path: Path) -> None:
    import ipywidgets

    def run_app() -> dict[str, Any]:
        first, second = Box(), Box()
        second.observe(lambda change: setattr(first, "text", f"second is {change['new']}"),
                       "value")
        return {"main": ipywidgets.HBox([first, second])}

    with AppDriver(build_app(tmp_path, run_app)) as driver:
        page = driver.open_session()
        page.set("main.children.1", value=7)
        assert page["main.children.0"].text == "second is 7"
        assert page["main.children.1"].widget.value == 7, "the server's widget, by its id"
        assert page["main.layout"].state["_model_name"] == "LayoutModel"
        with pytest.raises(KeyError, match="nothing at '2'"):
            page["main.children.2"]
        with pytest.raises(KeyError, match="is a value"):
            page["main.children"]
        with pytest.raises(UnknownWidget):
            page["nope.children.0"]


def test_open_session_renders_the_page_and_holds_every_widget(tab: Any) -> None:
    assert sorted(tab.keys) == ["button", "counter", "greeting", "name"]
    assert 'data-numerous-widget="counter"' in tab.html
    assert tab["counter"].value == 0
    assert tab["button"].clicked == 0
    assert tab.config["session"] == tab.id == tab.session.id
    assert tab["counter"].widget is tab.session.widgets["counter"]


def test_a_click_is_clicked_plus_one_then_value_true_and_runs_on_click(tab: Any) -> None:
    tab.click("button")
    assert tab["counter"].value == 1
    assert tab["button"].clicked == 1 and tab["button"].value is True
    tab.click("button")
    assert tab["counter"].value == 2
    updates = [m for m in tab.view.log if m["type"] == "update"]
    assert all(m["id"] != tab["button"].id or "clicked" not in m["state"] for m in updates), \
        "the server must not echo the clicks back"


def test_set_sends_an_update_and_callbacks_answer(tab: Any) -> None:
    tab.set("name", text="Ann")
    assert tab["greeting"].text == "Hello, Ann!"
    assert tab["name"].text == "Ann"
    assert tab["name"].widget.text == "Ann"


def test_actions_without_waiting_are_seen_by_wait_for(tab: Any) -> None:
    tab.click("button", wait=False)
    tab.click("button", wait=False)
    assert tab.wait_for("counter", value=2).value == 2
    assert tab.wait_for("counter", lambda w: w.value > 1).value == 2


def test_a_refused_value_is_an_error_frame_and_the_server_value_comes_back(
        tmp_path: Path) -> None:
    app = build_app(tmp_path, lambda: {"main": Box(value=5)})
    with AppDriver(app) as driver:
        tab = driver.open_session()
        tab.set("main", value="not a number")
        error = tab.wait_for_error("invalid_value")
        assert error["id"] == tab["main"].id
        assert tab["main"].value == 5
        tab.set("main", _esm="alert(1)")
        assert "cannot be set" in tab.wait_for_error("invalid_value")["message"]


def test_a_failing_callback_is_a_callback_error_with_the_traceback_in_dev(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def run_app() -> dict[str, Any]:
        box = Box()
        box.observe(lambda change: 1 / 0, "value")
        return {"main": box}

    with AppDriver(build_app(tmp_path, run_app, dev=True)) as driver:
        tab = driver.open_session()
        tab.set("main", value=1)
        error = tab.wait_for_error("callback_error")
        assert "ZeroDivisionError" in error["message"] and "1 / 0" in error["traceback"]
        assert tab.errors == [error]


def test_unknown_keys_and_traits_name_what_exists(tab: Any) -> None:
    with pytest.raises(UnknownWidget) as info:
        tab["countr"]
    assert str(info.value) == ("no widget 'countr' in this session; the widget keys are: "
                               "button, counter, greeting, name")
    with pytest.raises(KeyError):
        tab.click("nope")
    with pytest.raises(AttributeError, match=r"no trait 'valeu'.*value"):
        tab.set("counter", valeu=3)
    with pytest.raises(AttributeError, match=r"'counter' has no trait 'colour'"):
        tab["counter"].colour  # noqa: B018
    with pytest.raises(AttributeError, match="not a numerous-widgets button"):
        tab.click("name")


# --- echo and acks ------------------------------------------------------------------------------


def test_a_callback_changing_the_sent_trait_sends_its_value(tmp_path: Path) -> None:
    def run_app() -> dict[str, Any]:
        box = Box()
        box.observe(lambda change: setattr(box, "text", change["new"].upper()), "text")
        return {"main": box}

    with AppDriver(build_app(tmp_path, run_app)) as driver:
        tab = driver.open_session()
        tab.set("main", text="shout")
        assert tab["main"].text == "SHOUT"


def test_a_slow_callback_does_not_overwrite_a_newer_value_from_the_page(tmp_path: Path) -> None:
    def run_app() -> dict[str, Any]:
        box = Box()

        def slow(change: dict[str, Any]) -> None:
            if not change["new"].startswith("server:"):
                time.sleep(0.1)
                box.text = f"server:{change['new']}"

        box.observe(slow, "text")
        return {"main": box}

    with AppDriver(build_app(tmp_path, run_app)) as driver:
        tab = driver.open_session()
        tab.set("main", text="a", wait=False)
        tab.set("main", text="b", wait=False)
        assert tab["main"].text == "b"
        tab.settle()
        # The answer to "a" (ack 1) arrived while "b" (seq 2) was unanswered: it was ignored.
        assert tab["main"].text == "server:b"
        answers = [m["state"]["text"] for m in tab.view.log
                   if m["type"] == "update" and "text" in m["state"]]
        assert answers == ["server:a", "server:b"]


# --- custom messages and binary data --------------------------------------------------------------


def blob_app() -> dict[str, Any]:
    blob = Blob()

    def on_message(widget: Any, content: Any, buffers: list[Any]) -> None:
        data = bytes(buffers[0]) if buffers else b""
        widget.send({"reply": content["kind"]}, buffers=[data[::-1]])
        widget.data = data

    blob.on_msg(on_message)
    blob.observe(lambda change: setattr(blob, "status", change["new"].hex()), "upload")
    return {"main": blob}


def test_custom_messages_with_buffers_both_ways(tmp_path: Path) -> None:
    with AppDriver(build_app(tmp_path, blob_app)) as driver:
        tab = driver.open_session()
        assert tab["main"].data == b"\x00\x01"
        tab.send("main", {"kind": "bytes"}, buffers=[b"\x01\x02\xff"])
        assert tab.messages("main") == [Message({"reply": "bytes"}, [b"\xff\x02\x01"])]
        assert tab["main"].data == b"\x01\x02\xff"
        assert tab.wait_for_message("main").content == {"reply": "bytes"}
        tab.send("main", {"kind": "again"}, [b"\x07"], wait=False)
        assert tab.wait_for_message("main") == Message({"reply": "again"}, [b"\x07"])
        assert len(tab["main"].messages) == 2


def test_binary_values_from_the_page_reach_the_widget(tmp_path: Path) -> None:
    with AppDriver(build_app(tmp_path, blob_app)) as driver:
        tab = driver.open_session()
        tab.set("main", upload=b"\x09\x08\x07")
        assert tab["main"].status == "090807"
        assert tab["main"].widget.upload == b"\x09\x08\x07"


def test_raw_frames_take_the_validation_path(tab: Any) -> None:
    tab.send_frame("not json")
    assert tab.wait_for_error("bad_frame")["message"] == "frame is not valid JSON"
    tab.send_frame('{"type": "update", "id": "nobody", "state": {}, "seq": 1}')
    assert tab.wait_for_error("unknown_widget")["code"] == "unknown_widget"


# --- waiting and its failures --------------------------------------------------------------------


def test_a_timeout_names_what_never_arrived_and_what_did(tab: Any) -> None:
    # Hold the session thread for a moment, so that the click's answer arrives during the wait.
    gate = threading.Event()
    tab.session.worker.submit(gate.wait)
    threading.Timer(0.1, gate.set).start()
    tab.click("button", wait=False)
    with pytest.raises(WaitTimeout) as info:
        tab.wait_for("counter", value=5, timeout=0.3)
    message = str(info.value)
    assert message.startswith("widget 'counter' never had value=5 within 0.3 s; it has "
                              "value=1")
    assert "arrived while waiting" in message and "update counter {'value': 1" in message


def test_a_timeout_with_nothing_arriving_says_so(tab: Any) -> None:
    with pytest.raises(WaitTimeout, match="nothing arrived while waiting"):
        tab.wait_for("greeting", lambda w: w.text == "never", timeout=0.05)
    with pytest.raises(WaitTimeout, match="no custom message from widget 'button'"):
        tab.wait_for_message("button", timeout=0.05)
    with pytest.raises(WaitTimeout, match="no error 'rate_limited'"):
        tab.wait_for_error("rate_limited", timeout=0.05)
    with pytest.raises(UnknownWidget):
        tab.wait_for("nope", value=1, timeout=0.05)


# --- tab errors -----------------------------------------------------------------------------


def test_template_errors_surface_when_the_session_opens(tmp_path: Path) -> None:
    app = build_app(tmp_path, lambda: {"main": Box()}, "<main>{{ main }} {{ missing }}</main>",
                    dev=True)
    with AppDriver(app) as driver, pytest.raises(AppPageError) as info:
        driver.open_session()
    assert "GET / answered 500: App error" in str(info.value)
    assert "missing" in str(info.value)
    assert len(app.numerous.sessions) == 0


def test_without_dev_the_logged_error_is_in_the_failure(tmp_path: Path) -> None:
    app = build_app(tmp_path, lambda: {"main": Box()}, "<main>{{ missing }}</main>")
    with AppDriver(app) as driver, pytest.raises(AppPageError) as info:
        driver.open_session()
    assert "The app could not be started" in str(info.value)
    assert "logged:" in str(info.value) and "missing" in str(info.value)


def test_run_app_raising_surfaces_with_its_traceback(tmp_path: Path) -> None:
    def run_app() -> dict[str, Any]:
        raise ValueError("no database")

    with AppDriver(build_app(tmp_path, run_app, dev=True)) as driver, \
            pytest.raises(AppPageError, match="ValueError: no database"):
        driver.open_session()


# --- sessions ------------------------------------------------------------------------------------


def test_two_sessions_are_isolated(driver: AppDriver) -> None:
    first, second = driver.open_session(), driver.open_session()
    other_browser = driver.open_session(browser="another")
    first.click("button")
    first.click("button")
    second.click("button")
    assert (first["counter"].value, second["counter"].value) == (2, 1)
    assert other_browser["counter"].value == 0
    assert first.session.widgets["counter"] is not second.session.widgets["counter"]
    assert first.session.owner == second.session.owner != other_browser.session.owner
    for tab in (first, second, other_browser):
        tab.close()


def test_close_ends_the_session_and_its_thread(driver: AppDriver) -> None:
    tab = driver.open_session()
    tab.close()
    assert tab.session.closed and not tab.session.alive
    assert tab.session not in list(driver.app.numerous.sessions)
    assert not tab.connected


def test_reconnect_gets_the_snapshot_and_keeps_the_session(driver: AppDriver) -> None:
    tab = driver.open_session()
    tab.click("button")
    tab.reconnect()
    assert tab["counter"].value == 1 and tab.connected
    tab.click("button")
    assert tab["counter"].value == 2
    tab.close()


def test_driver_close_ends_every_session_and_runs_shutdown(tmp_path: Path) -> None:
    app = build_app(tmp_path, lambda: {"main": Box()})
    driver = AppDriver(app)
    pages = [driver.open_session() for _ in range(3)]
    driver.close()
    assert all(p.session.closed and not p.session.alive for p in pages)
    assert len(app.numerous.sessions) == 0


def test_hundreds_of_sessions_in_seconds(tmp_path: Path) -> None:
    def run_app() -> dict[str, Any]:
        counter, button = Box(), Box()
        button.observe(lambda _: setattr(counter, "value", counter.value + 1), "value")
        return {"counter": counter, "button": button}

    app = build_app(tmp_path, run_app, "{{ counter }}{{ button }}")
    started = time.perf_counter()
    with AppDriver(app) as driver:
        for n in range(300):
            tab = driver.open_session()
            tab.set("button", value=n + 1)
            assert tab["counter"].value == 1
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"300 sessions took {elapsed:.1f} s"
    assert len(app.numerous.sessions) == 0


# --- loading, mounting, identity -----------------------------------------------------------------


def test_from_file_loads_an_app_py_like_numerous_run() -> None:
    with AppDriver.from_file(REPO / "tests" / "e2e" / "counter") as driver:
        tab = driver.open_session()
        tab.click("button")
        assert tab["counter"].value == 1


def test_from_file_failures_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="does not exist"):
        AppDriver.from_file(tmp_path / "app.py")


def test_apps_combined_under_prefixes_are_driven_by_path(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build_app(tmp_path / "a", lambda: {"main": Box(text="first")})
    second = build_app(tmp_path / "b", lambda: {"main": Box(text="second")})
    with AppDriver(combine_apps({"/one": first, "/two": second})) as driver:
        tab = driver.open_session("/two/")
        assert tab["main"].text == "second" and tab.config["base"] == "/two"
        tab.set("main", value=3)
        assert tab["main"].widget.value == 3
        assert len(second.numerous.sessions) == 1 and len(first.numerous.sessions) == 0


def test_login_and_identity_follow_the_browser_cookies(tmp_path: Path) -> None:
    """The seam authentication plugs into: `identify` sees the cookies a login set."""
    app = build_app(tmp_path, lambda: {"main": Box()})

    async def login(request: Request) -> Response:
        body = await request.json()
        response = Response(status_code=204)
        response.set_cookie("user", body["username"])
        return response

    async def identify(connection: Any, token: str) -> Identity | None:
        user = connection.cookies.get("user")
        return Identity(f"{user}:{token}", user) if user else None

    app.add_api_route("/api/auth/login", login, methods=["POST"])
    app.numerous.identify = identify
    with AppDriver(app) as driver:
        with pytest.raises(AppPageError, match="401: Not signed in"):
            driver.open_session()
        driver.login("ann", "secret")
        tab = driver.open_session()
        assert tab.session.user == "ann"
        driver.login("bob", "secret", browser="bob")
        assert driver.open_session(browser="bob").session.user == "bob"


def test_a_real_sign_in_through_the_auth_api(monkeypatch: pytest.MonkeyPatch) -> None:
    users = [{"username": "ann", "password": "secret-password"}]
    monkeypatch.setenv("NUMEROUS_AUTH_USERS", json.dumps(users))
    monkeypatch.setenv("NUMEROUS_JWT_SECRET", secrets.token_hex(32))
    with AppDriver.from_file(REPO / "tests" / "e2e" / "auth" / "env_app") as driver:
        with pytest.raises(AppPageError, match=r"redirected \(\d+\) to /login"):
            driver.open_session()
        with pytest.raises(AppPageError, match="401"):
            driver.login("ann", "wrong")
        driver.login("ann", "secret-password")
        tab = driver.open_session()
        assert tab.session.user.username == "ann"
        assert tab["greeting"].value == "Hello ann"
        tab.click("button")
        assert tab["counter"].value == 1
        with pytest.raises(AppPageError, match="redirected"):
            driver.open_session(browser="signed-out")


def test_a_session_only_binds_to_the_loop_of_its_driver(driver: AppDriver) -> None:
    tab = driver.open_session()
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(tab["counter"].value))
    thread.start()
    thread.join()
    assert results == [0], "reading the view from any thread is fine"
    tab.close()


# --- async --------------------------------------------------------------------------------------


async def test_the_async_driver_runs_on_the_test_loop(tmp_path: Path) -> None:
    app = build_app(tmp_path, counter_app, COUNTER_TEMPLATE)
    async with AsyncAppDriver(app) as driver:
        tab = await driver.open_session()
        await tab.click("button")
        assert tab["counter"].value == 1
        await tab.set("name", text="Bo", wait=False)
        assert (await tab.wait_for("greeting", text="Hello, Bo!")).text == "Hello, Bo!"
    assert tab.session.closed
