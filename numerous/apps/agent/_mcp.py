"""The agent API as a Model Context Protocol server, at `{base}/api/agent/mcp`.

Optional: it needs the `mcp` package (`pip install "numerous-apps[mcp]"`); without it the
path answers 501 with that hint. It speaks MCP's Streamable HTTP transport with JSON responses
and offers the HTTP API's operations as tools, and a session's description as a resource
(`numerous://sessions/{session}`). The tools are the same for every app; which widgets, traits
and actions a session has (with their JSON Schemas) is in `describe_session`'s answer.

Who the caller is follows the HTTP API: the `numerous_client` cookie (and the sign-in cookies)
when the MCP client sends them, else the MCP session itself (its `mcp-session-id`) stands in
for the browser, so an MCP client works without any setup where the app needs no sign-in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._client import base_path, client_token
from .._runtime import Identity
from . import _calls
from ._access import Access
from ._errors import AgentError

try:
    from mcp import types
    from mcp.server.lowlevel import Server
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
    from mcp.server.transport_security import TransportSecuritySettings
except ImportError:  # the optional dependency: the endpoint says how to get it
    types = None  # type: ignore[assignment]

logger = logging.getLogger("numerous.apps.agent")

MCP_PATH = "/api/agent/mcp"
RESOURCE_TEMPLATE = "numerous://sessions/{session}"
Scope = MutableMapping[str, Any]
ASGI = Callable[[Scope, Any, Any], Awaitable[None]]

_S = {"type": "string"}
_SESSION = {"session": {**_S, "description": "The session id (from open_session or "
                                             "attach_session)."}}
_WIDGET = {"widget": {**_S, "description": "The widget's key, as run_app() returned it."}}
_TOOLS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "open_session": ("Open a new session of the app (run_app() runs for it). Returns its id, "
                     "its widgets with their traits (types, JSON Schemas, current values) and "
                     "its actions (parameters as JSON Schema).", {}, []),
    "attach_session": ("Attach to a session a browser opened, with the single-use attach code "
                       "its user gave you. Returns the session's description.",
                       {"code": _S}, ["code"]),
    "describe_session": ("The session's widgets, traits with current values, and actions.",
                         _SESSION, ["session"]),
    "get_trait": ("Read one trait of a widget (what the browser shows now).",
                  {**_SESSION, **_WIDGET, "trait": _S}, ["session", "widget", "trait"]),
    "set_trait": ("Set one trait of a widget; a browser showing the session shows it. The "
                  "trait validates the value. Returns the value after the app's callbacks ran.",
                  {**_SESSION, **_WIDGET, "trait": _S, "value": {}},
                  ["session", "widget", "trait", "value"]),
    "call_action": ("Call an action: one run_app() defined, or with `widget` a widget's action. "
                    "`arguments` is an object matching the action's parameters schema.",
                    {**_SESSION, "action": _S, "arguments": {"type": "object"},
                     "widget": {**_S, "description": "For a widget's action: its key."}},
                    ["session", "action"]),
    "end_session": ("End a session this client opened.", _SESSION, ["session"]),
}


def mcp_parts(access: Access) -> tuple[Route, Callable[[], Any]]:
    """MCP at `{base}/api/agent/mcp`, and the lifespan that runs its transport with the app."""
    endpoint = _Endpoint(access)
    endpoint.max_body = access.runtime.settings.limits.max_message_bytes
    route = Route(MCP_PATH, endpoint, include_in_schema=False)

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        if types is None:
            yield
            return
        server = _server(access)
        # Any host: the app decides where it is served; cookies and JSON-only requests are
        # what keep other sites out, as for the HTTP API.
        server.streamable_http_app(json_response=True, transport_security=(
            TransportSecuritySettings(enable_dns_rebinding_protection=False)))
        async with server.session_manager.run():
            endpoint.target = StreamableHTTPASGIApp(server.session_manager)
            try:
                yield
            finally:
                endpoint.target = None

    return route, lifespan


class _Endpoint:
    """The MCP transport while the app runs; a clear answer otherwise."""

    def __init__(self, access: Access) -> None:
        self.access = access
        self.target: ASGI | None = None
        self.max_body = 0
        """Its request body budget (numerous.apps._limits), the agent API's."""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.target is not None:
            await self.target(scope, receive, send)
            return
        if types is None:
            error = AgentError(501, "app_error", "MCP needs the mcp package: "
                               "pip install \"numerous-apps[mcp]\"")
        else:
            error = AgentError(503, "app_error", "MCP runs with the app's lifespan, which has "
                               "not run for this app (under `numerous dev`, only the first "
                               "load's does: restart the dev server)")
        await JSONResponse(error.body(), status_code=error.status)(scope, receive, send)


def _server(access: Access) -> Server[Any]:
    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[
            types.Tool(name=name, description=doc, input_schema={
                "type": "object", "properties": properties, "required": required,
                "additionalProperties": False})
            for name, (doc, properties, required) in _TOOLS.items()])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            result = await _call(access, ctx.request, params.name, params.arguments or {})
        except AgentError as exc:
            text = json.dumps(exc.body()["detail"])
            return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                        is_error=True)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result))],
            structured_content=result)

    async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[types.ResourceTemplate(
            name="session", uri_template=RESOURCE_TEMPLATE, mime_type="application/json",
            description="A session's widgets, traits with current values, and actions.")])

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams
                            ) -> types.ReadResourceResult:
        uri = str(params.uri)
        prefix = RESOURCE_TEMPLATE.removesuffix("{session}")
        try:
            if not uri.startswith(prefix):
                raise AgentError(404, "unknown_session", f"resources are {RESOURCE_TEMPLATE}")
            body = await _call(access, ctx.request, "describe_session",
                               {"session": uri.removeprefix(prefix)})
        except AgentError as exc:
            body = exc.body()
        return types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=uri, mime_type="application/json", text=json.dumps(body))])

    return Server("numerous-app", on_list_tools=list_tools, on_call_tool=call_tool,
                  on_list_resource_templates=list_templates, on_list_resources=list_resources,
                  on_read_resource=read_resource)


async def _call(access: Access, request: Request | None, tool: str,
                arguments: dict[str, Any]) -> dict[str, Any]:
    if tool not in _TOOLS:
        raise AgentError(404, "unknown_action", f"no tool {tool[:80]!r}; there are: "
                         f"{', '.join(_TOOLS)}", available=list(_TOOLS))
    if request is None:
        raise AgentError(401, "not_authenticated", "MCP is served over HTTP only")
    _, properties, required = _TOOLS[tool]
    args = _checked(arguments, properties, required)
    identity = await _identify(access, request)
    if tool == "open_session":
        session = await access.open(identity, base_path(request))
        return await _calls.describe(session)
    if tool == "attach_session":
        return await _calls.describe(access.attach(args["code"], identity))
    session, owner = access.find(args["session"], identity)
    if tool == "describe_session":
        return await _calls.describe(session)
    if tool == "get_trait":
        return await _calls.read_trait(session, args["widget"], args["trait"])
    if tool == "set_trait":
        return await _calls.set_trait(session, args["widget"], args["trait"], args["value"])
    if tool == "call_action":
        return await _calls.call_action(session, args["action"], args.get("arguments") or {},
                                        args.get("widget"))
    if not owner:
        raise AgentError(403, "not_owner", "only the session's owner can end it")
    access.runtime.sessions.close(session, "This session was ended through the agent API.")
    return {"session": session.id, "ended": True}


def _checked(arguments: dict[str, Any], properties: dict[str, Any], required: list[str]
             ) -> dict[str, Any]:
    problems = [f"{name} is required" for name in required if name not in arguments]
    problems += [f"unknown argument {name[:40]!r}" for name in arguments if name not in properties]
    problems += [f"{name} must be a {spec['type']}" for name, spec in properties.items()
                 if name in arguments and "type" in spec and arguments[name] is not None
                 and not isinstance(arguments[name], dict if spec["type"] == "object" else str)]
    if problems:
        raise AgentError(422, "invalid_arguments", "; ".join(problems))
    return arguments


async def _identify(access: Access, request: Request) -> Identity:
    token = client_token(request)
    if not token:
        mcp_session = request.headers.get("mcp-session-id", "")
        token = f"mcp-{mcp_session}" if mcp_session else ""
    return await access.identify(request, token)
