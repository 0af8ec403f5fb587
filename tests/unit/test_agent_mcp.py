"""The agent API's MCP view: JSON-RPC over Streamable HTTP at {base}/api/agent/mcp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from numerous.apps.agent import _mcp
from numerous.apps._client import CLIENT_COOKIE

from ._agent_support import API, TestClient, as_caller, config_of, make_app

MCP = f"{API}/mcp"
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}



class McpClient:
    """Just enough of an MCP client: initialize, then numbered JSON-RPC requests."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.next_id = 0
        response = self.post({"method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}})
        assert response.status_code == 200, response.text
        self.session = response.headers["mcp-session-id"]
        self.info = response.json()["result"]
        notified = self.post({"method": "notifications/initialized"}, notification=True)
        assert notified.status_code == 202

    def post(self, message: dict[str, Any], notification: bool = False) -> Any:
        headers = dict(HEADERS)
        if getattr(self, "session", None):
            headers["mcp-session-id"] = self.session
        body = {"jsonrpc": "2.0", **message}
        if not notification:
            self.next_id += 1
            body["id"] = self.next_id
        return self.client.post(MCP, json=body, headers=headers)

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post({"method": method, "params": params or {}})
        assert response.status_code == 200, response.text
        return dict(response.json()["result"])

    def tool(self, name: str, **arguments: Any) -> tuple[bool, Any]:
        """(is_error, the JSON the tool answered)."""
        result = self.request("tools/call", {"name": name, "arguments": arguments})
        return bool(result.get("isError")), json.loads(result["content"][0]["text"])


def test_initialize_and_list_the_tools(tmp_path: Path, served: Any) -> None:
    mcp = McpClient(served(make_app(tmp_path)))
    assert mcp.info["serverInfo"]["name"] == "numerous-app"
    tools = {tool["name"]: tool for tool in mcp.request("tools/list")["tools"]}
    assert set(tools) == {"open_session", "attach_session", "describe_session", "get_trait",
                          "set_trait", "call_action", "end_session"}
    assert tools["set_trait"]["inputSchema"]["required"] == ["session", "widget", "trait",
                                                             "value"]
    templates = mcp.request("resources/templates/list")["resourceTemplates"]
    assert templates[0]["uriTemplate"] == "numerous://sessions/{session}"


def test_open_a_session_set_read_and_call(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    mcp = McpClient(served(app))
    failed, opened = mcp.tool("open_session")
    assert not failed and set(opened["widgets"]["counter"]["actions"]) == {"add", "explode"}
    session = opened["session"]
    assert mcp.tool("set_trait", session=session, widget="counter", trait="value",
                    value=6) == (False, {"widget": "counter", "trait": "value", "value": 6})
    assert mcp.tool("get_trait", session=session, widget="counter",
                    trait="doubled")[1]["value"] == 12
    assert mcp.tool("call_action", session=session, widget="counter", action="add",
                    arguments={"amount": 3}) == (False, {"action": "add", "result": 9})
    assert mcp.tool("call_action", session=session, action="total",
                    arguments={"times": 2})[1]["result"] == {"total": 18, "note": ""}
    described = mcp.tool("describe_session", session=session)[1]
    assert described["widgets"]["counter"]["traits"]["value"]["value"] == 9
    resource = mcp.request("resources/read", {"uri": f"numerous://sessions/{session}"})
    assert json.loads(resource["contents"][0]["text"])["session"] == session
    live = next(s for s in app.numerous.sessions if s.id == session)
    assert live.owner == f"mcp-{mcp.session}", "the MCP session stands in for a browser"
    assert mcp.tool("end_session", session=session) == (False, {"session": session,
                                                               "ended": True})
    assert live.closed


def test_refusals_are_tool_errors_with_the_same_details(tmp_path: Path, served: Any) -> None:
    mcp = McpClient(served(make_app(tmp_path)))
    session = mcp.tool("open_session")[1]["session"]
    failed, error = mcp.tool("set_trait", session=session, widget="counter", trait="value",
                             value=1000)
    assert failed and error["error"] == "invalid_value" and "at most 100" in error["message"]
    failed, error = mcp.tool("set_trait", session=session, widget="counter", trait="_secret",
                             value="x")
    assert failed and error["error"] == "unknown_trait"
    failed, error = mcp.tool("call_action", session=session, widget="counter", action="reset")
    assert failed and error["available"] == ["add", "explode"]
    failed, error = mcp.tool("get_trait", session=session, widget="counter")
    assert failed and error == {"error": "invalid_arguments", "message": "trait is required"}
    failed, error = mcp.tool("get_trait", session=session, widget="counter", trait=3)
    assert failed and error["message"] == "trait must be a string"
    failed, error = mcp.tool("describe_session", session=session, extra=1)
    assert failed and "unknown argument 'extra'" in error["message"]
    failed, error = mcp.tool("no_such_tool")
    assert failed and error["error"] == "unknown_action"
    resource = mcp.request("resources/read", {"uri": "numerous://sessions/nope"})
    assert json.loads(resource["contents"][0]["text"])["detail"]["error"] == "unknown_session"


def test_one_mcp_client_cannot_use_anothers_session(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    first, second = McpClient(client), McpClient(client)
    session = first.tool("open_session")[1]["session"]
    failed, error = second.tool("describe_session", session=session)
    assert failed and error["error"] == "unknown_session"
    failed, error = second.tool("end_session", session=session)
    assert failed and error["error"] == "unknown_session"


def test_the_client_cookie_when_sent_is_the_identity(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path))
    session = client.post(f"{API}/sessions", json={}).json()["session"]
    mcp = McpClient(client)  # the TestClient sends its numerous_client cookie
    assert mcp.tool("get_trait", session=session, widget="counter", trait="value") == (
        False, {"widget": "counter", "trait": "value", "value": 0})


def test_an_mcp_client_attaches_to_a_browser_session_with_a_code(tmp_path: Path,
                                                                  served: Any) -> None:
    client = served(make_app(tmp_path))
    page = config_of(client.get("/").text)
    code = client.post(f"{API}/sessions/{page['session']}/attach-code", json={}).json()["code"]
    as_caller(client, {})
    mcp = McpClient(client)
    failed, described = mcp.tool("attach_session", code=code)
    assert not failed and described["session"] == page["session"]
    assert not mcp.tool("set_trait", session=page["session"], widget="counter", trait="value",
                        value=4)[0]
    failed, error = mcp.tool("end_session", session=page["session"])
    assert failed and error["error"] == "not_owner"
    assert CLIENT_COOKIE not in client.cookies


def test_without_the_mcp_package_the_endpoint_says_how_to_get_it(
        tmp_path: Path, served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_mcp, "types", None)
    client = served(make_app(tmp_path))
    response = client.post(MCP, json={}, headers=HEADERS)
    assert response.status_code == 501
    assert 'pip install "numerous-apps[mcp]"' in response.json()["detail"]["message"]
    assert client.post(f"{API}/sessions", json={}).status_code == 201, "the HTTP API works"


def test_before_the_app_starts_the_endpoint_is_unavailable(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    client = TestClient(app)  # no lifespan
    response = client.post(MCP, json={}, headers=HEADERS)
    assert response.status_code == 503


def test_under_combine_apps_each_app_serves_its_own_api_and_mcp(tmp_path: Path,
                                                                served: Any) -> None:
    from numerous.apps import combine_apps

    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    combined = combine_apps({"/one": make_app(tmp_path / "one"),
                             "/two": make_app(tmp_path / "two", agent_api=False)})
    client = served(combined)
    assert client.post(f"/one{API}/sessions", json={}).status_code == 201
    assert client.post(f"/two{API}/sessions", json={}).status_code == 404
    response = client.post(f"/one{MCP}", headers=HEADERS, json={
        "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}})
    assert response.status_code == 200 and "mcp-session-id" in response.headers
