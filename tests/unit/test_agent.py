"""The agent API over HTTP: every endpoint and every refusal, through Starlette's TestClient."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from numerous.apps import SharedWrites
from numerous.apps._client import CLIENT_COOKIE
from numerous.apps.agent import _access
from numerous.apps.agent._routes import LazyRoutes
from numerous.apps._runtime import serving_mode

from ._agent_support import (
    API,
    TestClient,
    as_caller,
    config_of,
    make_app,
    ws_hello,
    ws_until,
)

def open_session(client: TestClient) -> dict[str, Any]:
    response = client.post(f"{API}/sessions", json={})
    assert response.status_code == 201, response.text
    return dict(response.json())


def trait_url(session: str, trait: str = "value", widget: str = "counter") -> str:
    return f"{API}/sessions/{session}/widgets/{widget}/traits/{trait}"


def detail(response: Any) -> dict[str, Any]:
    return dict(response.json()["detail"])


def live_session(app: Any, session_id: str) -> Any:
    return next(s for s in app.numerous.sessions if s.id == session_id)


# --- switched on or off -------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "served_api"), [
    ({}, False),
    ({"dev": True}, True),
    ({"agent_api": True}, True),
    ({"dev": True, "agent_api": False}, False),
])
def test_the_api_is_on_in_dev_mode_or_when_asked(tmp_path: Path, served: Any,
                                                 options: dict[str, Any], served_api: bool) -> None:
    options.setdefault("agent_api", None)
    client = served(make_app(tmp_path, **options))
    response = client.post(f"{API}/sessions", json={})
    assert response.status_code == (201 if served_api else 404)
    assert client.get("/").status_code == 200, "the page is served either way"


@pytest.mark.parametrize(("agent_api", "served_api"), [(None, False), (True, True)])
def test_an_api_that_comes_with_dev_mode_is_not_served_in_production(
        tmp_path: Path, served: Any, agent_api: bool | None, served_api: bool) -> None:
    """`numerous run` loads apps with dev mode off whatever they ask for; only an API the app
    asked for (agent_api=True) is served then."""
    with serving_mode(False):
        app = make_app(tmp_path, dev=True, agent_api=agent_api)
    assert not app.numerous.dev and app.numerous.settings.dev_requested
    client = served(app)
    status = 200 if served_api else 404
    assert client.get(f"{API}/openapi.json").status_code == status
    assert client.post(f"{API}/sessions", json={}).status_code == (201 if served_api else 404)
    mcp = client.post(f"{API}/mcp", json={}).status_code
    assert (mcp == 404) is not served_api, mcp


def test_an_agent_session_of_a_shared_widgets_app_drives_the_shared_widgets(
        tmp_path: Path, served: Any) -> None:
    """The agent opens sessions the way a page does: on a share_widgets app its session views
    the same widgets every page sees."""
    client = served(make_app(tmp_path, share_widgets=True))
    page_session = config_of(client.get("/").text)["session"]
    opened = client.post(f"{API}/sessions", json={})
    assert opened.status_code == 201, opened.text
    agent_session = opened.json()["session"]
    assert agent_session != page_session
    answer = client.put(f"{API}/sessions/{agent_session}/widgets/counter/traits/value",
                        json={"value": 41})
    assert answer.status_code == 200, answer.text
    seen = client.get(f"{API}/sessions/{page_session}/widgets/counter/traits/value")
    assert seen.json()["value"] == 41


@pytest.mark.parametrize(("share", "planted"), [
    (True, False), (SharedWrites(markup={"counter": ["label"]}), True)])
def test_an_agent_writes_into_shared_widgets_under_the_apps_write_policy(
        tmp_path: Path, served: Any, share: Any, planted: bool) -> None:
    app = make_app(tmp_path, share_widgets=share)
    client = served(app)
    session = open_session(client)["session"]
    answer = client.put(trait_url(session, "label"), json={"value": "<b>everyone</b>"})
    assert answer.status_code == (200 if planted else 422), answer.text
    assert (live_session(app, session).widgets["counter"].label == "<b>everyone</b>") is planted


def test_the_api_has_its_own_openapi_schema(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    schema = client.get(f"{API}/openapi.json").json()
    assert schema["info"]["title"] == "Numerous app agent API"
    assert set(schema["paths"]) == {
        f"{API}/sessions", f"{API}/sessions/{{session}}",
        f"{API}/sessions/{{session}}/widgets/{{key}}",
        f"{API}/sessions/{{session}}/widgets/{{key}}/traits/{{trait}}",
        f"{API}/sessions/{{session}}/actions/{{action}}",
        f"{API}/sessions/{{session}}/widgets/{{key}}/actions/{{action}}",
        f"{API}/sessions/{{session}}/attach-code", f"{API}/attach"}
    put = schema["paths"][f"{API}/sessions/{{session}}/widgets/{{key}}/traits/{{trait}}"]["put"]
    assert {"200", "401", "404", "415", "422"} <= set(put["responses"])
    assert "servers" not in schema
    assert client.get("/openapi.json").status_code == 404, "the app's own schema stays off"


def test_the_api_routes_are_made_by_the_first_request_for_them(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    (lazy,) = [route for route in app.routes if isinstance(route, LazyRoutes)]
    client = served(app)
    assert client.get("/").status_code == 200
    assert client.get("/api/agentless").status_code == 404
    assert lazy._routes is None, "pages and other paths leave the API unbuilt"  # noqa: SLF001
    assert client.get(f"{API}/sessions/nope").status_code in (401, 404)
    assert lazy._routes is not None  # noqa: SLF001
    assert client.post(f"{API}/sessions", json={}).status_code == 201


def test_mounted_under_a_prefix_the_schema_names_its_server(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path), root_path="/app1")
    schema = client.get(f"/app1{API}/openapi.json").json()
    assert schema["servers"] == [{"url": "/app1"}]
    assert client.post(f"/app1{API}/sessions", json={}).status_code == 201


# --- sessions ---------------------------------------------------------------------------------


def test_opening_a_session_hands_out_a_client_cookie_and_describes_it(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    response = client.post(f"{API}/sessions", json={})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{CLIENT_COOKIE}=") and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    body = response.json()
    assert body["client"] == client.cookies[CLIENT_COOKIE] and len(body["client"]) >= 32
    session = live_session(app, body["session"])
    assert session.owner == body["client"]

    counter = body["widgets"]["counter"]
    assert counter["type"] == "Counter" and counter["doc"] == "Counts clicks."
    assert list(counter["traits"]) == ["doubled", "label", "mode", "value", "version"]
    value = counter["traits"]["value"]
    assert value == {"type": "Int", "schema": {"type": "integer", "minimum": 0, "maximum": 100},
                     "doc": "How many clicks", "read_only": False, "value": 0}
    assert counter["traits"]["mode"]["schema"] == {"enum": ["up", "down"]}
    assert counter["traits"]["version"]["read_only"] is True
    assert set(counter["actions"]) == {"add", "explode"}
    add = counter["actions"]["add"]
    assert add["doc"] == "Add `amount` to the value; returns the new value."
    assert add["parameters"]["properties"]["amount"] == {"default": 1, "title": "Amount",
                                                         "type": "integer"}
    assert add["returns"] == {"type": "integer"}
    total = body["actions"]["total"]
    assert total["parameters"]["required"] == ["times"]

    again = client.post(f"{API}/sessions", json={})
    assert again.json()["client"] is None, "a caller with a cookie keeps it"
    assert "set-cookie" not in again.headers
    assert live_session(app, again.json()["session"]).owner == body["client"]


def test_describing_a_session_and_a_widget(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    described = client.get(f"{API}/sessions/{session}")
    assert described.status_code == 200 and described.headers["cache-control"] == "no-store"
    assert described.json()["session"] == session
    widget = client.get(f"{API}/sessions/{session}/widgets/counter").json()
    assert widget["key"] == "counter" and widget["traits"]["label"]["value"] == "clicks"


def test_each_use_of_an_api_session_restarts_its_grace_period(tmp_path: Path,
                                                               served: Any) -> None:
    app = make_app(tmp_path, session_grace=30)
    client = served(app)
    session = open_session(client)["session"]
    live = live_session(app, session)
    before = live.expiry.when()
    time.sleep(0.02)
    assert client.get(trait_url(session)).status_code == 200
    assert live.expiry.when() > before


def test_an_unused_api_session_expires(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, session_grace=0.2)
    client = served(app)
    session = open_session(client)["session"]
    deadline = time.monotonic() + 5
    while any(s.id == session for s in app.numerous.sessions):  # looking does not touch it
        assert time.monotonic() < deadline, "an unused session did not expire"
        time.sleep(0.05)
    assert detail(client.get(trait_url(session)))["error"] == "unknown_session"


def test_a_session_a_browser_is_connected_to_gets_no_expiry_from_api_use(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path, session_grace=30)
    client = served(app)
    page = config_of(client.get("/").text)
    with client.websocket_connect(page["ws"]) as ws:
        ws_hello(ws, page["session"])
        ws_until(ws, lambda m: m["type"] == "ready")
        assert client.get(trait_url(page["session"])).status_code == 200
        assert live_session(app, page["session"]).expiry is None


def test_ending_a_session(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    session = open_session(client)["session"]
    live = live_session(app, session)
    assert client.delete(f"{API}/sessions/{session}").status_code == 204
    assert live.closed
    assert client.get(f"{API}/sessions/{session}").status_code == 404
    assert client.delete(f"{API}/sessions/{session}").status_code == 404


def test_a_failing_run_app_is_a_500_that_names_it_in_dev_mode(tmp_path: Path,
                                                               served: Any) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("no database")

    client = served(make_app(tmp_path, app_generator=broken, dev=True))
    response = client.post(f"{API}/sessions", json={})
    assert response.status_code == 500
    assert detail(response)["error"] == "app_error" and "no database" in detail(response)["message"]

    quiet = served(make_app(tmp_path, app_generator=broken))
    assert "no database" not in quiet.post(f"{API}/sessions", json={}).text


def test_at_capacity_opening_a_session_is_a_503(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, max_sessions=1))
    open_session(client)
    response = client.post(f"{API}/sessions", json={})
    assert response.status_code == 503 and detail(response)["error"] == "at_capacity"


# --- traits -----------------------------------------------------------------------------------


def test_reading_and_setting_a_trait(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    session = open_session(client)["session"]
    assert client.get(trait_url(session)).json() == {"widget": "counter", "trait": "value",
                                                     "value": 0}
    response = client.put(trait_url(session), json={"value": 21})
    assert response.status_code == 200
    assert response.json() == {"widget": "counter", "trait": "value", "value": 21}
    widget = live_session(app, session).widgets["counter"]
    assert widget.value == 21 and widget.doubled == 42, "observers ran"
    assert client.get(trait_url(session, "doubled")).json()["value"] == 42
    assert client.put(trait_url(session, "mode"), json={"value": "down"}).json()["value"] == "down"


def test_a_refused_value_is_a_422_with_the_traits_message(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    session = open_session(client)["session"]
    client.put(trait_url(session), json={"value": 5})
    for bad, words in [(500, "at most 100"), ("many", "expected an int"),
                       (None, "expected an int")]:
        response = client.put(trait_url(session), json={"value": bad})
        assert response.status_code == 422, bad
        assert detail(response)["error"] == "invalid_value"
        assert words in detail(response)["message"]
        assert detail(response)["value"] == 5, "the answer carries the unchanged value"
    response = client.put(trait_url(session, "mode"), json={"value": "sideways"})
    assert response.status_code == 422 and "mode" in detail(response)["message"]
    assert "sideways" not in detail(response)["message"], "a refused value is never echoed"
    response = client.put(trait_url(session, "version"), json={"value": "2.0"})
    assert response.status_code == 422 and "read-only" in detail(response)["message"]
    assert live_session(app, session).widgets["counter"].value == 5
    assert client.get(trait_url(session)).status_code == 200, "the session goes on"


def test_a_body_without_value_is_refused(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    assert client.put(trait_url(session), json={"val": 3}).status_code == 422


def test_private_and_unsynced_traits_cannot_be_read_or_set(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    session = open_session(client)["session"]
    for trait in ["_secret", "_esm", "local_only", "layout", "tooltip", "keys", "comm"]:
        for response in (client.get(trait_url(session, trait)),
                         client.put(trait_url(session, trait), json={"value": "x"})):
            assert response.status_code == 404, trait
            assert detail(response)["error"] == "unknown_trait"
            assert detail(response)["available"] == ["doubled", "label", "mode", "value",
                                                     "version"]
    assert live_session(app, session).widgets["counter"]._secret == "hidden"  # noqa: SLF001


def test_unknown_widgets_and_traits_are_404s_naming_what_exists(tmp_path: Path,
                                                                served: Any) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    response = client.get(trait_url(session, widget="nope"))
    assert response.status_code == 404
    assert detail(response) == {"error": "unknown_widget", "available": ["counter"],
                                "message": "this session has no widget 'nope'; it has: counter"}
    assert client.get(f"{API}/sessions/{session}/widgets/nope").status_code == 404
    response = client.get(trait_url(session, "nope"))
    assert "it has: doubled, label, mode, value, version" in detail(response)["message"]


# --- actions ----------------------------------------------------------------------------------


def test_calling_a_widget_action(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    session = open_session(client)["session"]
    url = f"{API}/sessions/{session}/widgets/counter/actions/add"
    assert client.post(url, json={"amount": 4}).json() == {"action": "add", "result": 4}
    assert client.post(url, json={}).json()["result"] == 5, "defaults apply"
    assert client.post(url, json={"amount": "2"}).json()["result"] == 7, "lax like pydantic"
    assert live_session(app, session).widgets["counter"].doubled == 14


def test_calling_a_session_action(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    client.put(trait_url(session), json={"value": 3})
    response = client.post(f"{API}/sessions/{session}/actions/total", json={"times": 2})
    assert response.json() == {"action": "total", "result": {"total": 6, "note": ""}}


def test_bad_arguments_are_a_422_naming_them(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    url = f"{API}/sessions/{session}/actions/total"
    missing = client.post(url, json={})
    assert missing.status_code == 422 and detail(missing)["error"] == "invalid_arguments"
    assert detail(missing)["message"] == "times: Field required"
    wrong = client.post(url, json={"times": "often"})
    assert wrong.status_code == 422 and "times: Input should be a valid integer" in wrong.text
    extra = client.post(url, json={"times": 1, "sudo": True})
    assert extra.status_code == 422 and "sudo: Extra inputs are not permitted" in extra.text
    assert client.post(url, json=[1, 2]).status_code == 422, "arguments are an object"


def test_unmarked_methods_and_unknown_actions_are_404s(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    session = open_session(client)["session"]
    client.put(trait_url(session), json={"value": 9})
    for name in ["reset", "_explode", "close", "send_state", "set_state", "__init__", "nope"]:
        response = client.post(f"{API}/sessions/{session}/widgets/counter/actions/{name}",
                               json={})
        assert response.status_code == 404, name
        assert detail(response)["error"] == "unknown_action"
        assert detail(response)["available"] == ["add", "explode"]
    response = client.post(f"{API}/sessions/{session}/actions/add", json={})
    assert response.status_code == 404 and detail(response)["available"] == ["total"]
    assert live_session(app, session).widgets["counter"].value == 9


@pytest.mark.parametrize("dev", [False, True])
def test_a_failing_action_is_a_500_and_the_session_goes_on(tmp_path: Path, served: Any,
                                                           dev: bool) -> None:
    client = served(make_app(tmp_path, dev=dev))
    session = open_session(client)["session"]
    response = client.post(f"{API}/sessions/{session}/widgets/counter/actions/explode",
                           json={})
    assert response.status_code == 500 and detail(response)["error"] == "action_error"
    assert ("ValueError: boom" in detail(response)["message"]) is dev
    assert ("traceback" in detail(response)) is dev
    assert client.get(trait_url(session)).status_code == 200


def test_an_action_result_json_cannot_carry_is_a_500(tmp_path: Path, served: Any) -> None:
    from numerous.apps import action

    from ._agent_support import Counter

    def run_app() -> dict[str, Any]:
        @action
        def odd() -> object:
            return object()

        @action
        def infinite() -> float:
            return float("inf")

        return {"counter": Counter()}

    client = served(make_app(tmp_path, app_generator=run_app))
    session = open_session(client)["session"]
    response = client.post(f"{API}/sessions/{session}/actions/odd", json={})
    assert response.status_code == 500 and "JSON cannot carry" in detail(response)["message"]
    infinite = client.post(f"{API}/sessions/{session}/actions/infinite", json={})
    assert infinite.json() == {"action": "infinite", "result": None}


def test_changes_must_be_json(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    for response in (
        client.post(f"{API}/sessions"),
        client.post(f"{API}/sessions", content=b"{}", headers={"content-type": "text/plain"}),
        client.put(trait_url(session), content=b'{"value": 1}',
                   headers={"content-type": "application/x-www-form-urlencoded"}),
        client.post(f"{API}/sessions/{session}/actions/total", data={"times": "1"}),
    ):
        assert response.status_code == 415, response.request.url
        assert detail(response)["error"] == "unsupported_media_type"
    assert client.get(trait_url(session)).json()["value"] == 0
    ok = client.put(trait_url(session), content=b'{"value": 1}',
                    headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


def test_bodies_over_the_apps_message_limit_are_refused(tmp_path: Path, served: Any) -> None:
    from numerous.apps import SessionLimits

    client = served(make_app(tmp_path, limits=SessionLimits(max_message_bytes=1000)))
    session = open_session(client)["session"]
    response = client.put(trait_url(session, "label"), json={"value": "x" * 2000})
    assert response.status_code == 413 and detail(response)["error"] == "too_large"
    assert client.put(trait_url(session, "label"), json={"value": "x" * 100}).status_code == 200


# --- who may use a session --------------------------------------------------------------------


def test_without_a_client_cookie_every_session_route_is_a_401(tmp_path: Path,
                                                               served: Any) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    as_caller(client, {})
    for response in (client.get(f"{API}/sessions/{session}"),
                     client.get(trait_url(session)),
                     client.put(trait_url(session), json={"value": 1}),
                     client.post(f"{API}/sessions/{session}/actions/total", json={"times": 1}),
                     client.post(f"{API}/sessions/{session}/attach-code", json={}),
                     client.delete(f"{API}/sessions/{session}")):
        assert response.status_code == 401, response.request.url
        assert detail(response)["error"] == "not_authenticated"


def test_another_callers_session_is_a_404_like_no_session_at_all(tmp_path: Path,
                                                                 served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    opened = open_session(client)
    session = opened["session"]
    as_caller(client, {CLIENT_COOKIE: "m" * 32})
    nothing = client.get(f"{API}/sessions/{'x' * 32}")
    for response in (client.get(f"{API}/sessions/{session}"),
                     client.get(f"{API}/sessions/{session}/widgets/counter"),
                     client.get(trait_url(session)),
                     client.put(trait_url(session), json={"value": 1}),
                     client.post(f"{API}/sessions/{session}/actions/total", json={"times": 1}),
                     client.post(f"{API}/sessions/{session}/widgets/counter/actions/add",
                                 json={}),
                     client.post(f"{API}/sessions/{session}/attach-code", json={}),
                     client.delete(f"{API}/sessions/{session}")):
        assert response.status_code == 404, response.request.url
        assert response.json() == nothing.json()
    assert live_session(app, session).widgets["counter"].value == 0
    assert not live_session(app, session).closed
    as_caller(client, {CLIENT_COOKIE: opened["client"]})
    assert client.get(trait_url(session)).status_code == 200


def test_a_browser_may_drive_its_own_page_session(tmp_path: Path, served: Any) -> None:
    """The page's fetches carry its cookie: the page's session is the caller's own."""
    client = served(make_app(tmp_path))
    session = config_of(client.get("/").text)["session"]
    assert client.put(trait_url(session), json={"value": 2}).status_code == 200


# --- a browser and the API on one session -----------------------------------------------------


def test_api_changes_reach_the_browser_and_browser_changes_reach_the_api(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    page = config_of(client.get("/").text)
    browser_cookies = dict(client.cookies)
    model_id = page["widgets"]["counter"]
    code = client.post(f"{API}/sessions/{page['session']}/attach-code", json={}).json()["code"]
    with client.websocket_connect(page["ws"]) as ws:
        ws_hello(ws, page["session"])
        ws_until(ws, lambda m: m["type"] == "ready")

        as_caller(client, {})  # a script, with no cookie of its own yet
        attached = client.post(f"{API}/attach", json={"code": code})
        assert attached.status_code == 200 and attached.json()["session"] == page["session"]
        assert attached.json()["client"] == client.cookies[CLIENT_COOKIE]
        assert client.put(trait_url(page["session"]), json={"value": 7}).status_code == 200
        seen: dict[str, Any] = {}

        def both_changed(m: dict[str, Any]) -> bool:
            # One frame or two, depending on when the sender wakes during the callback.
            if m["type"] == "update" and m["id"] == model_id:
                seen.update(m["state"])
            return {"value", "doubled"} <= seen.keys()
        ws_until(ws, both_changed)
        assert seen["value"] == 7 and seen["doubled"] == 14

        ws.send_json({"type": "update", "id": model_id, "state": {"value": 8}, "seq": 1})
        deadline = time.monotonic() + 3
        while client.get(trait_url(page["session"])).json()["value"] != 8:
            assert time.monotonic() < deadline, "the browser's change did not reach the API"
            time.sleep(0.01)
        assert client.get(trait_url(page["session"], "doubled")).json()["value"] == 16

        client.post(f"{API}/sessions/{page['session']}/widgets/counter/actions/add",
                    json={"amount": 2})
        update = ws_until(ws, lambda m: m["type"] == "update" and "value" in m["state"])
        assert update["state"]["value"] == 10
    as_caller(client, browser_cookies)


def test_a_failing_action_is_shown_to_the_browser_like_a_failing_callback(
        tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, dev=True))
    page = config_of(client.get("/").text)
    with client.websocket_connect(page["ws"]) as ws:
        ws_hello(ws, page["session"])
        ws_until(ws, lambda m: m["type"] == "ready")
        client.post(f"{API}/sessions/{page['session']}/widgets/counter/actions/explode",
                    json={})
        error = ws_until(ws, lambda m: m["type"] == "error")
        assert error["code"] == "callback_error" and "boom" in error["message"]


# --- attach codes -----------------------------------------------------------------------------


def test_an_attach_code_lets_one_other_client_in_once(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    browser = {CLIENT_COOKIE: "b" * 32}
    as_caller(client, browser)
    session = config_of(client.get("/").text)["session"]
    issued = client.post(f"{API}/sessions/{session}/attach-code", json={})
    assert issued.status_code == 201
    assert issued.json()["session"] == session and issued.json()["expires_in"] == 300
    code = issued.json()["code"]
    assert len(code) >= 32

    as_caller(client, {CLIENT_COOKIE: "s" * 32})
    assert client.get(trait_url(session)).status_code == 404, "an id alone grants nothing"
    assert client.post(f"{API}/attach", json={"code": code}).json()["client"] is None
    assert client.put(trait_url(session), json={"value": 3}).status_code == 200
    assert client.post(f"{API}/sessions/{session}/widgets/counter/actions/add",
                       json={}).json()["result"] == 4

    as_caller(client, {CLIENT_COOKIE: "t" * 32})
    used = client.post(f"{API}/attach", json={"code": code})
    assert used.status_code == 404 and detail(used)["error"] == "unknown_code"
    assert client.get(trait_url(session)).status_code == 404


def test_a_guest_cannot_hand_the_session_on_nor_end_it(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    as_caller(client, {CLIENT_COOKIE: "b" * 32})
    session = open_session(client)["session"]
    code = client.post(f"{API}/sessions/{session}/attach-code", json={}).json()["code"]
    as_caller(client, {CLIENT_COOKIE: "s" * 32})
    client.post(f"{API}/attach", json={"code": code})
    for response in (client.post(f"{API}/sessions/{session}/attach-code", json={}),
                     client.delete(f"{API}/sessions/{session}")):
        assert response.status_code == 403 and detail(response)["error"] == "not_owner"
    assert not live_session(app, session).closed


def test_attach_codes_expire_and_unknown_ones_are_refused(tmp_path: Path, served: Any,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    code = client.post(f"{API}/sessions/{session}/attach-code", json={}).json()["code"]
    monkeypatch.setattr(_access, "CODE_TTL", -1.0)
    stale = client.post(f"{API}/sessions/{session}/attach-code", json={}).json()["code"]
    as_caller(client, {CLIENT_COOKIE: "s" * 32})
    for attempt in (stale, "not-a-code", ""):
        response = client.post(f"{API}/attach", json={"code": attempt})
        assert response.status_code == 404 and detail(response)["error"] == "unknown_code"
    assert client.post(f"{API}/attach", json={"code": code}).status_code == 200


def test_a_session_keeps_only_its_newest_attach_codes(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    session = open_session(client)["session"]
    codes = [client.post(f"{API}/sessions/{session}/attach-code", json={}).json()["code"]
             for _ in range(_access.MAX_CODES_PER_SESSION + 2)]
    as_caller(client, {CLIENT_COOKIE: "s" * 32})
    assert client.post(f"{API}/attach", json={"code": codes[0]}).status_code == 404
    assert client.post(f"{API}/attach", json={"code": codes[-1]}).status_code == 200


def test_a_guest_loses_access_when_the_session_ends(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    client = served(app)
    owner = {CLIENT_COOKIE: "b" * 32}
    as_caller(client, owner)
    session = open_session(client)["session"]
    code = client.post(f"{API}/sessions/{session}/attach-code", json={}).json()["code"]
    as_caller(client, {CLIENT_COOKIE: "s" * 32})
    client.post(f"{API}/attach", json={"code": code})
    as_caller(client, owner)
    client.delete(f"{API}/sessions/{session}")
    as_caller(client, {CLIENT_COOKIE: "s" * 32})
    assert client.get(trait_url(session)).status_code == 404
    assert app.numerous.extension("agent")._guests == {}  # noqa: SLF001
