"""The pytest plugin's fixtures, and apps served for real (in a thread and in a process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import anywidget
import httpx
import pytest
import traitlets
from websockets.sync.client import connect

from numerous.apps import create_app
from numerous.apps.testing import (
    AppDriver,
    Server,
    ThreadedServer,
    chromium_path,
    free_port,
    plugin,
    serve_app,
    served,
)

# The plugin's fixtures, used here whether or not it is installed as an entry point.
numerous_drivers = plugin.numerous_drivers
numerous_driver = plugin.numerous_driver
numerous_server = plugin.numerous_server

REPO = Path(__file__).resolve().parents[2]
COUNTER_DIR = REPO / "tests" / "e2e" / "counter"


class Box(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)


def run_app() -> dict[str, Any]:
    counter, button = Box(), Box()
    button.observe(lambda _: setattr(counter, "value", counter.value + 1), "value")
    return {"counter": counter, "button": button}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("app")
    (folder / "index.html.j2").write_text("<main>{{ counter }}{{ button }}</main>")
    app = create_app("index.html.j2", app_generator=run_app, base_dir=folder)

    @app.get("/env")
    async def env() -> dict[str, str | None]:
        return {"value": os.environ.get("NUMEROUS_TESTING_VALUE")}

    return app


# --- numerous_driver -------------------------------------------------------------------------

_seen: dict[str, Any] = {}


def test_numerous_driver_drives_an_app_object(numerous_driver: Any, app: Any) -> None:
    driver = numerous_driver(app)
    session = driver.open_session()
    session.set("button", value=1)
    assert session["counter"].value == 1
    _seen["driver"], _seen["session"] = driver, session


def test_numerous_driver_is_shared_and_sessions_end_with_their_test(
        numerous_driver: Any, app: Any) -> None:
    assert numerous_driver(app) is _seen["driver"], "one driver (one start-up) per app and run"
    assert _seen["session"].session.closed
    assert len(app.numerous.sessions) == 0


def test_numerous_driver_loads_an_app_py(numerous_driver: Any) -> None:
    driver = numerous_driver(COUNTER_DIR)
    assert isinstance(driver, AppDriver)
    assert numerous_driver(COUNTER_DIR / "app.py") is driver
    session = driver.open_session()
    session.click("button")
    assert session["counter"].value == 1


# --- served apps ------------------------------------------------------------------------------


def test_numerous_server_serves_an_app_object_in_a_thread(numerous_server: Any,
                                                          app: Any) -> None:
    server = numerous_server(app)
    assert isinstance(server, ThreadedServer) and server.url.startswith("http://127.0.0.1:")
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and 'data-numerous-widget="counter"' in page.text
    assert len(server.sessions) == 1, "the test sees the app's live sessions"


def test_a_threaded_server_speaks_the_websocket_protocol(app: Any) -> None:
    with served(app) as server:
        with httpx.Client(base_url=server.url) as client:
            page = client.get("/")
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        config = json.loads(page.text.split('type="application/json">')[1].split("</script>")[0])
        url = server.url.replace("http", "ws") + config["ws"]
        with connect(url, additional_headers={"Cookie": cookie}) as socket:
            socket.send(json.dumps({"type": "hello", "protocol": 1,
                                    "session": config["session"]}))
            while json.loads(socket.recv(timeout=5))["type"] != "ready":
                pass
            socket.send(json.dumps({"type": "update", "id": config["widgets"]["button"],
                                    "state": {"value": 1}, "seq": 1}))
            update = json.loads(socket.recv(timeout=5))
        assert update["state"] == {"value": 1} and update["ack"] == 1
        assert update["id"] == config["widgets"]["counter"]


def test_env_is_set_while_a_threaded_server_serves(app: Any) -> None:
    assert "NUMEROUS_TESTING_VALUE" not in os.environ
    with served(app, env={"NUMEROUS_TESTING_VALUE": "on"}) as server:
        assert httpx.get(server.url + "/env").json() == {"value": "on"}
    assert "NUMEROUS_TESTING_VALUE" not in os.environ


def test_an_app_py_is_served_by_a_process_with_its_env(tmp_path: Path) -> None:
    (tmp_path / "index.html.j2").write_text("<main>{{ main }}</main>")
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import os
        import anywidget, traitlets
        from numerous.apps import create_app

        class Box(anywidget.AnyWidget):
            _esm = "export default { render() {} }"

        app = create_app(template="index.html.j2", app_generator=lambda: {"main": Box()})

        @app.get("/env")
        async def env():
            return {"value": os.environ.get("NUMEROUS_TESTING_VALUE")}
    """))
    port = free_port()
    server = serve_app(tmp_path, env={"NUMEROUS_TESTING_VALUE": "child"}, port=port)
    try:
        assert isinstance(server, Server) and server.url == f"http://127.0.0.1:{port}"
        assert httpx.get(server.url + "/env").json() == {"value": "child"}
        assert httpx.get(server.url + "/").status_code == 200
    finally:
        server.stop()
    assert server.process.poll() is not None


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("raise SystemExit('broken app')\n")
    with pytest.raises(RuntimeError, match="broken app"):
        serve_app(tmp_path / "app.py")


# --- the plugin, as pytest loads it -------------------------------------------------------------


def _plugin_args() -> list[str]:
    """`-p` the plugin unless it is installed as an entry point (pytest loads it then)."""
    installed = any(ep.value == "numerous.apps.testing.plugin"
                    for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "numerous.apps.testing.plugin"]


def _playwright_chromium() -> bool:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return Path(playwright.chromium.executable_path).exists()


@pytest.mark.slow
def test_the_plugin_loads_and_its_fixtures_work_in_a_project(tmp_path: Path) -> None:
    expected = None if _playwright_chromium() else chromium_path()
    (tmp_path / "test_project.py").write_text(textwrap.dedent(f"""
        import httpx

        APP = {str(COUNTER_DIR)!r}

        def test_driver(numerous_driver):
            session = numerous_driver(APP).open_session()
            session.click("button")
            assert session["counter"].value == 1

        def test_server(numerous_server):
            server = numerous_server(APP)
            assert httpx.get(server.url).status_code == 200

        def test_chromium(browser_type_launch_args):
            assert browser_type_launch_args.get("executable_path") == {expected!r}
    """))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *_plugin_args(),
         "test_project.py"], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
