"""create_app() over HTTP and WebSocket, through Starlette's TestClient."""

from __future__ import annotations

import json
import logging
import re
import runpy
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from ipywidgets.widgets.widget import _instances
from starlette.websockets import WebSocketDisconnect

from numerous.apps import SecurityPolicy, SessionLimits, create_app
from numerous.apps import _assets, _pool
from numerous.apps._client import CLIENT_COOKIE
from numerous.apps._assets import IMMUTABLE, ClientFiles
from numerous.apps._protocol import PROTOCOL_VERSION

from ._support import (
    ESM,
    Counter,
    TestClient,
    config_of,
    make_app,
    wait_until,
    ws_hello,
    ws_message,
)

numerous_widgets_warning = pytest.mark.filterwarnings(
    "ignore:Passing unrecognized arguments:DeprecationWarning")


@pytest.fixture(autouse=True)
def client_js(tmp_path_factory: pytest.TempPathFactory,
              monkeypatch: pytest.MonkeyPatch) -> ClientFiles:
    """A fixed browser client, so these tests do not depend on numerous/js as it is today."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "main.js").write_text("import './protocol.js'\n" + "// client\n" * 200)
    (folder / "protocol.js").write_text("export const PROTOCOL_VERSION = 1\n")
    files = ClientFiles(folder)
    monkeypatch.setattr(_assets, "_client", files)
    return files


# --- the page -------------------------------------------------------------------------------


def test_the_page_is_revalidated_on_every_use_with_an_httponly_samesite_cookie(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # Kept only by this browser, and shown only after asking (test_reload.py)
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["etag"].startswith('W/"')
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{CLIENT_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert "secure" not in cookie.lower(), "plain http: a secure cookie would never come back"
    token = client.cookies[CLIENT_COOKIE]
    assert len(token) >= 32

    again = client.get("/")
    assert "set-cookie" not in again.headers, "the browser keeps its token"


def test_the_page_holds_mount_points_fragments_config_and_client(
        tmp_path: Path, served: Any, client_js: ClientFiles) -> None:
    app = make_app(tmp_path)
    client = served(app)
    html = client.get("/").text
    assert html.startswith("<!DOCTYPE html>")
    assert 'id="counter" class="numerous-widget" data-numerous-widget="counter"' in html
    assert 'id="numerous-splash"' in html and 'id="numerous-error-modal"' in html
    assert f'src="/numerous/js/{client_js.version}/main.js"' in html
    assert re.search(r'<link rel="stylesheet" href="/numerous/base.css\?v=[0-9a-f]{12}">', html)
    assert f'rel="modulepreload" href="/numerous/js/{client_js.version}/main.js"' in html
    assert ESM not in html, "widget code is linked, never inlined"

    config = config_of(html)
    (session,) = list(app.numerous.sessions)
    assert config["protocol"] == PROTOCOL_VERSION
    assert config["session"] == session.id and len(config["session"]) >= 32
    assert config["ws"] == "/numerous/ws"
    assert config["base"] == ""
    assert config["widgets"] == {"counter": session.widgets["counter"].model_id}
    assert config["dev"] is False
    assert config["grace"] == 60.0
    assert session.owner == client.cookies[CLIENT_COOKIE]
    assert session.id not in client.get("/").headers.get("set-cookie", "")


def test_every_page_load_is_a_session_of_its_own(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    first = config_of(client.get("/").text)
    second = config_of(client.get("/").text)
    assert first["session"] != second["session"]
    assert first["widgets"]["counter"] != second["widgets"]["counter"]
    assert len(app.numerous.sessions) == 2


def test_mounted_under_a_root_path_every_url_carries_the_base(tmp_path: Path,
                                                             served: Any) -> None:
    client = served(make_app(tmp_path), root_path="/app1")
    html = client.get("/").text
    config = config_of(html)
    assert config["base"] == "/app1" and config["ws"] == "/app1/numerous/ws"
    assert 'href="/app1/numerous/base.css?v=' in html
    assert re.search(r'href="/app1/numerous/assets/[0-9a-f]{32}\.js"', html)


# --- files ----------------------------------------------------------------------------------


def test_static_files_are_served_and_cannot_be_escaped(tmp_path: Path, served: Any) -> None:
    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "static" / "css" / "styles.css").write_text(".mine { color: red }")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    client = served(make_app(tmp_path))

    response = client.get("/static/css/styles.css")
    assert response.status_code == 200 and ".mine" in response.text
    assert response.headers["cache-control"] == "no-cache"

    for path in ["/static/../secret.txt", "/static/%2e%2e/secret.txt",
                 "/static/..%2fsecret.txt", "/static/css/..%2f..%2fsecret.txt",
                 "/static/%2e%2e%2fsecret.txt", "/static/css/../../secret.txt"]:
        response = client.get(path)
        assert "TOP SECRET" not in response.text, path
        assert response.status_code in (400, 404), path


def test_an_app_without_a_static_folder_answers_404_and_logs_nothing(
        tmp_path: Path, served: Any, caplog: Any) -> None:
    client = served(make_app(tmp_path))
    for path in ["/static/css/styles.css", "/static/%3Cscript%3E", "/static/../app.py"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<script>" not in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "late.css").write_text("body {}")
    assert client.get("/static/late.css").status_code == 200, "a folder made later is served"


def test_widget_assets_are_served_immutable_and_compressed(tmp_path: Path,
                                                          served: Any) -> None:
    client = served(make_app(tmp_path))
    html = client.get("/").text
    js_url = re.search(r'rel="modulepreload" href="(/numerous/assets/[0-9a-f]{32}\.js)"', html)
    css_url = re.search(r'rel="preload" as="style" href="(/numerous/assets/[0-9a-f]{32}\.css)"',
                        html)
    assert js_url and css_url
    config = config_of(html)
    assert config["modules"] == [js_url.group(1)] and config["styles"] == [css_url.group(1)]

    response = client.get(js_url.group(1), headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.text == ESM
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = response.headers["etag"]

    cached = client.get(js_url.group(1), headers={"if-none-match": etag})
    assert cached.status_code == 304

    css = client.get(css_url.group(1))
    assert css.status_code == 200 and css.text == Counter._css  # noqa: SLF001
    assert css.headers["content-type"].startswith("text/css")

    assert client.get("/numerous/assets/" + "0" * 32 + ".js").status_code == 404


def test_the_client_is_served_at_its_version_with_immutable_caching(
        tmp_path: Path, served: Any, client_js: ClientFiles) -> None:
    client = served(make_app(tmp_path))
    response = client.get(f"/numerous/js/{client_js.version}/main.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.text.startswith("import './protocol.js'")
    assert client.get(f"/numerous/js/{client_js.version}/protocol.js").status_code == 200
    assert client.get("/numerous/js/0000000000000000/main.js").status_code == 404
    assert client.get(f"/numerous/js/{client_js.version}/nope.js").status_code == 404


def test_theme_css_is_served_and_linked(tmp_path: Path, served: Any) -> None:
    theme = ":root { --numerous-accent: rebeccapurple; }"
    client = served(make_app(tmp_path, theme_css=theme))
    html = client.get("/").text
    link = re.search(r'<link rel="stylesheet" href="(/numerous/theme.css\?v=\w+)">', html)
    assert link and html.index("/numerous/base.css") < html.index("/numerous/theme.css")
    response = client.get(link.group(1))
    assert response.status_code == 200 and response.text == theme
    assert response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == IMMUTABLE


def test_without_a_theme_no_theme_link(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    assert "/numerous/theme.css" not in client.get("/").text


def test_the_base_stylesheet_is_served_and_can_be_overridden(tmp_path: Path,
                                                            served: Any) -> None:
    builtin = (Path(_assets.__file__).parent / "static" / "numerous-base.css").read_text()
    client = served(make_app(tmp_path))
    response = client.get("/numerous/base.css")
    assert response.status_code == 200 and response.text == builtin
    assert response.headers["cache-control"] == "no-cache"
    etag = response.headers["etag"]
    assert client.get("/numerous/base.css", headers={"if-none-match": etag}).status_code == 304

    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "static" / "css" / "numerous-base.css").write_text(".overridden { x: 1 }")
    response = client.get("/numerous/base.css")
    assert response.text == ".overridden { x: 1 }"
    assert response.headers["etag"] != etag


def test_the_page_links_its_stylesheets_and_icon_so_a_reload_fetches_none(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    link = re.search(r'href="(/numerous/base.css\?v=\w+)"', client.get("/").text)
    assert link is not None
    current = client.get(link.group(1))
    assert current.headers["cache-control"] == IMMUTABLE, "the page's version: kept for good"
    stale = client.get("/numerous/base.css?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache", "any other: asked again"

    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "static" / "css" / "numerous-base.css").write_text(".edited { x: 1 }")
    assert link.group(1) not in client.get("/").text, "an edited stylesheet gets a new URL"

    icon = client.get("/favicon.ico")
    assert icon.status_code == 204 and "max-age" in icon.headers["cache-control"]


def test_the_page_is_compressed_for_browsers_that_take_it(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    raw = client.get("/", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers
    packed = client.get("/", headers={"accept-encoding": "gzip, deflate"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding"
    assert int(packed.headers["content-length"]) < len(raw.content) * 0.6
    assert packed.text.startswith("<!DOCTYPE html>"), "the client decodes it"


# --- errors ---------------------------------------------------------------------------------


def test_a_template_with_a_missing_widget_is_a_500_naming_it_in_dev(tmp_path: Path,
                                                                   served: Any) -> None:
    app = make_app(tmp_path, template="{{ counter }} {{ chart }}", dev=True)
    client = served(app)
    response = client.get("/")
    assert response.status_code == 500
    assert response.headers["cache-control"] == "no-store"
    assert "chart" in response.text and "counter" in response.text
    assert len(app.numerous.sessions) == 0, "the failed session is closed"


def test_without_dev_the_error_page_says_nothing_about_the_app(tmp_path: Path,
                                                              served: Any) -> None:
    app = make_app(tmp_path, template="{{ counter }} {{ chart }}", dev=False)
    response = served(app).get("/")
    assert response.status_code == 500
    assert "chart" not in response.text
    assert "Traceback" not in response.text
    assert "The app could not be started" in response.text


def test_run_app_raising_is_a_500_with_the_traceback_only_in_dev(tmp_path: Path,
                                                                served: Any) -> None:
    def run_app() -> dict[str, Any]:
        raise LookupError("the database is down")

    dev = served(make_app(tmp_path, app_generator=run_app, dev=True)).get("/")
    assert dev.status_code == 500
    assert "the database is down" in dev.text
    assert "Traceback" in dev.text and "LookupError" in dev.text

    prod = served(make_app(tmp_path, app_generator=run_app, dev=False)).get("/")
    assert prod.status_code == 500
    assert "the database is down" not in prod.text
    assert "Traceback" not in prod.text and "LookupError" not in prod.text


def test_run_app_returning_a_non_widget_is_a_500(tmp_path: Path, served: Any) -> None:
    response = served(make_app(tmp_path, app_generator=lambda: {"counter": 42},
                               dev=True)).get("/")
    assert response.status_code == 500
    assert "counter" in response.text


def test_at_capacity_visitors_get_503_with_retry_after(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, max_sessions=1)
    client = served(app)
    assert client.get("/").status_code == 200
    response = client.get("/")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"
    assert "try again" in response.text.lower()

    (session,) = list(app.numerous.sessions)
    app.numerous.sessions.close(session)
    assert client.get("/").status_code == 200


def test_too_many_new_sessions_from_one_address_get_429(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, limits=SessionLimits(max_new_sessions_per_minute=1)),
                    client=("203.0.113.9", 50_000))
    assert client.get("/").status_code == 200
    response = client.get("/")
    assert response.status_code == 429
    assert response.headers["retry-after"]
    assert "try again" in response.text.lower()


def test_a_session_whose_thread_cannot_start_gets_a_503_and_leaves_nothing(
        tmp_path: Path, served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(tmp_path)
    client = served(app)

    # Sessions share a pool of threads: a page load needs a thread to start only when the
    # pool has none idle, as in a fresh process.
    monkeypatch.setattr(_pool, "_default", _pool.SessionPool())
    start = threading.Thread.start

    def refuse(self: threading.Thread) -> None:
        if self.name.startswith("numerous-session"):
            raise RuntimeError("can't start new thread")
        start(self)

    monkeypatch.setattr(threading.Thread, "start", refuse)
    response = client.get("/")
    monkeypatch.undo()
    assert response.status_code == 503
    assert len(app.numerous.sessions) == 0
    assert client.get("/").status_code == 200


def test_the_health_check_counts_sessions_when_asked_and_is_never_cached(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, security=SecurityPolicy(health_sessions=True)))
    response = client.get("/numerous/health")
    assert response.json() == {"status": "healthy", "sessions": 0}
    assert response.headers["cache-control"] == "no-store"
    client.get("/")
    assert client.get("/numerous/health").json() == {"status": "healthy", "sessions": 1}


def test_limits_can_be_given_whole(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, limits=SessionLimits(grace=7.5, max_sessions=3))
    config = config_of(served(app).get("/").text)
    assert config["grace"] == 7.5
    assert app.numerous.sessions.limits.max_sessions == 3


# --- apps -----------------------------------------------------------------------------------


def test_create_app_gives_a_fastapi_app_that_takes_more_routes(tmp_path: Path,
                                                              served: Any) -> None:
    app = make_app(tmp_path)
    assert isinstance(app, FastAPI)

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    client = served(app)
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/").status_code == 200


def test_create_app_needs_a_generator_or_widgets(tmp_path: Path) -> None:
    (tmp_path / "index.html.j2").write_text("")
    with pytest.raises(TypeError):
        create_app(template="index.html.j2", base_dir=tmp_path)


def test_widgets_without_a_generator_are_rebuilt_for_every_session(tmp_path: Path,
                                                                  served: Any) -> None:
    (tmp_path / "index.html.j2").write_text("{{ counter }}")
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import anywidget
        import traitlets

        from numerous.apps import create_app


        class Counter(anywidget.AnyWidget):
            _esm = "export default { render() {} }"
            value = traitlets.Int(0).tag(sync=True)


        counter = Counter(value=5)
        app = create_app(template="index.html.j2", widgets={"counter": counter})
    """))
    module = runpy.run_path(str(tmp_path / "app.py"))
    imported = module["counter"]
    try:
        app = module["app"]
        assert isinstance(app, FastAPI)
        client = served(app)
        first = config_of(client.get("/").text)["widgets"]["counter"]
        second = config_of(client.get("/").text)["widgets"]["counter"]
        assert first != second
        assert imported.model_id not in (first, second)
        sessions = list(app.numerous.sessions)
        assert len(sessions) == 2
        assert all(s.widgets["counter"].value == 5 for s in sessions)
        assert sessions[0].widgets["counter"] is not sessions[1].widgets["counter"]
    finally:
        imported.layout.close()
        imported.close()


# --- the WebSocket --------------------------------------------------------------------------


@numerous_widgets_warning
def test_a_click_in_the_browser_updates_the_counter_over_the_websocket(
        tmp_path: Path, served: Any) -> None:
    import numerous.widgets as wi

    def run_app() -> dict[str, Any]:
        counter = wi.Number(default=0, label="Counter:")

        def on_click(event: Any) -> None:
            counter.value += 1

        return {"counter": counter, "button": wi.Button(label="Click me", on_click=on_click)}

    app = make_app(tmp_path, template="{{ counter }}{{ button }}", app_generator=run_app, dev=True)
    client = served(app)
    config = config_of(client.get("/").text)
    with client.websocket_connect(config["ws"]) as ws:
        ws_hello(ws, config["session"])
        opened = []
        while True:
            message = ws_message(ws)
            assert isinstance(message, dict)
            if message["type"] == "ready":
                break
            opened.append(message)
        assert message["widgets"] == config["widgets"]
        assert set(config["widgets"].values()) <= {m["id"] for m in opened}
        button = next(m for m in opened if m["id"] == config["widgets"]["button"])
        assert button["state"]["_esm"].startswith("/numerous/assets/")

        ws.send_text(json.dumps({"type": "update", "id": config["widgets"]["button"],
                                 "state": {"clicked": 1}, "seq": 1}))
        message = ws_message(ws)
        assert message == {"type": "update", "id": config["widgets"]["counter"],
                           "state": {"value": 1.0}, "buffer_paths": [], "ack": 1}


def test_a_websocket_from_another_browser_is_told_the_session_is_lost(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    owner = served(app)
    config = config_of(owner.get("/").text)

    stranger = served(app)
    stranger.get("/")  # a browser with a cookie of its own
    assert stranger.cookies[CLIENT_COOKIE] != owner.cookies[CLIENT_COOKIE]
    with stranger.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        message = ws_message(ws)
        assert isinstance(message, dict) and message["type"] == "session_lost"
        assert ws_message(ws) == 4404


def test_a_websocket_without_the_client_cookie_is_closed_as_unauthorized(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    config = config_of(served(app).get("/").text)
    cookieless = served(app)
    with cookieless.websocket_connect("/numerous/ws") as ws:
        ws_hello(ws, config["session"])
        assert ws_message(ws) == 4401


@pytest.mark.parametrize("headers", [{"origin": "https://evil.example"},
                                     {"origin": "http://testserver:8080"},
                                     {"sec-fetch-site": "cross-site"}])
def test_a_cross_site_websocket_handshake_is_refused_before_it_is_accepted(
        tmp_path: Path, served: Any, caplog: pytest.LogCaptureFixture,
        headers: dict[str, str]) -> None:
    client = served(make_app(tmp_path))
    client.get("/")
    with (caplog.at_level(logging.WARNING, "numerous.apps"),
          pytest.raises(WebSocketDisconnect) as refused,
          client.websocket_connect("/numerous/ws", headers=headers)):
        pass
    assert refused.value.code == 1008
    assert "refused a cross-site WebSocket handshake" in caplog.text
    assert client.cookies[CLIENT_COOKIE] not in caplog.text


def test_a_same_origin_websocket_handshake_joins_its_session(tmp_path: Path,
                                                             served: Any) -> None:
    client = served(make_app(tmp_path))
    config = config_of(client.get("/").text)
    same = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
    with client.websocket_connect("/numerous/ws", headers=same) as ws:
        ws_hello(ws, config["session"])
        while ws_message(ws)["type"] != "ready":  # type: ignore[index]
            pass


def test_a_bad_hello_over_the_websocket_closes_with_4400(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    client.get("/")
    with client.websocket_connect("/numerous/ws") as ws:
        ws.send_text("hello?")
        assert ws_message(ws) == 4400


def test_a_second_websocket_replaces_the_first(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    config = config_of(client.get("/").text)
    with client.websocket_connect("/numerous/ws") as first:
        ws_hello(first, config["session"])
        while ws_message(first)["type"] != "ready":  # type: ignore[index]
            pass
        with client.websocket_connect("/numerous/ws") as second:
            ws_hello(second, config["session"])
            assert ws_message(first) == 4409
            while ws_message(second)["type"] != "ready":  # type: ignore[index]
                pass


def test_shutdown_ends_every_session_thread(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    with TestClient(app) as client:
        client.get("/")
        client.get("/")
        sessions = list(app.numerous.sessions)
        model_ids = [s.widgets["counter"].model_id for s in sessions]
        assert all(s.alive for s in sessions)
    wait_until(lambda: not any(s.alive for s in sessions))
    assert len(app.numerous.sessions) == 0
    assert not any(model_id in _instances for model_id in model_ids)
