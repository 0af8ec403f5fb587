"""The agent API's HTTP routes, under `{base}/api/agent`, with their own OpenAPI schema.

Every route identifies its caller like the page does; session routes then find the session
(owned, or attached to with a code) and run one job on its thread (`_calls`). Responses are
never cached. Requests that change something must be JSON (`Content-Type: application/json`):
a cross-site form cannot send that, and a cross-site script cannot without the app's consent,
so the cookies cannot be ridden.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import URLPath
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from . import _calls
from .._client import CLIENT_COOKIE, base_path, route_path, set_client_cookie, token_or_new
from .._runtime import AppRuntime, Extension
from .._session import Session
from ._access import CODE_TTL, Access
from ._errors import AgentError
from ._mcp import mcp_parts

PREFIX = "/api/agent"
_CHANGES = ("POST", "PUT", "PATCH", "DELETE")


# --- shapes (for the OpenAPI schema) ----------------------------------------------------------


class ActionInfo(BaseModel):
    name: str
    doc: str = Field(description="The function's docstring.")
    parameters: dict[str, Any] = Field(description="JSON Schema of the arguments object.")
    returns: dict[str, Any] | None = Field(description="JSON Schema of the result, if known.")


class TraitInfo(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    type: str = Field(description="The traitlets type, e.g. Int, Unicode, Float.")
    json_schema: dict[str, Any] = Field(alias="schema",
                                        description="JSON Schema of the values it takes.")
    doc: str
    read_only: bool
    value: Any = Field(description="The current value (binary values as base64).")


class WidgetInfo(BaseModel):
    key: str = Field(description="The name run_app() gave the widget.")
    type: str = Field(description="The widget's class name.")
    doc: str
    traits: dict[str, TraitInfo]
    actions: dict[str, ActionInfo]


class SessionInfo(BaseModel):
    session: str
    widgets: dict[str, WidgetInfo]
    actions: dict[str, ActionInfo] = Field(description="Actions defined in run_app().")


class OpenedSession(SessionInfo):
    client: str | None = Field(None, description=(
        f"A new client token, when the request had none; also set as the {CLIENT_COOKIE} "
        "cookie. Send it back as that cookie."))


class TraitValue(BaseModel):
    widget: str
    trait: str
    value: Any


class NewValue(BaseModel):
    value: Any = Field(description="The new value, as JSON (as the browser would send it).")


class ActionResult(BaseModel):
    action: str
    result: Any


class AttachCode(BaseModel):
    session: str
    code: str = Field(description="Single use; give it to the script that should attach.")
    expires_in: float = Field(description="Seconds the code stays valid.")


class AttachRequest(BaseModel):
    code: str = Field(max_length=200)


class ErrorDetail(BaseModel):
    error: str = Field(description="A machine-readable kind, e.g. unknown_trait.")
    message: str
    available: list[str] | None = Field(None, description="For unknown names: what exists.")
    value: Any = Field(None, description="For a refused value: the trait's current value.")


class ErrorResponse(BaseModel):
    detail: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in [
        (401, "No identity: no client cookie, or not signed in where the app needs it."),
        (404, "No such session (or not the caller's), widget, trait or action."),
        (415, "A request that changes something must be JSON."),
    ]
}


# --- the router -------------------------------------------------------------------------------


class _AgentRoute(APIRoute):
    """Refusals become JSON answers, changes must be JSON, and nothing is cached."""

    max_body = 1024 * 1024
    """Largest request body, set per app from its `SessionLimits.max_message_bytes`."""
    access: Access

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                self._check(request)
                response = await handler(request)
            except AgentError as exc:
                response = JSONResponse(exc.body(), status_code=exc.status)
            response.headers["Cache-Control"] = "no-store"
            return response

        return route

    def _check(self, request: Request) -> None:
        if request.method not in _CHANGES or request.method == "DELETE":
            return
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise AgentError(415, "unsupported_media_type",
                             "send a JSON body with Content-Type: application/json ({} will do)")
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            raise AgentError(413, "too_large", f"request bodies are limited to {self.max_body} "
                             "bytes")


def agent_extension(runtime: AppRuntime) -> Extension:
    """The agent API (and its MCP view) for an app; see docs/agents.md.

    Its routes are built on the first request that could be theirs: FastAPI works out each
    route's parameter and response models when it is made, 60 ms per app, which every start
    and every dev-mode reload of `app.py` paid for an API most apps are never asked."""
    access = Access(runtime)

    def routes() -> list[BaseRoute]:
        router = agent_router(access)
        schema = APIRoute(f"{PREFIX}/openapi.json", _schema_route(router), methods=["GET"],
                          include_in_schema=False)
        return [*router.routes, schema]

    mcp, lifespan = mcp_parts(access)
    return Extension(name="agent", state=access, routes=[LazyRoutes(PREFIX, routes), mcp],
                     lifespan=lifespan)


class LazyRoutes(BaseRoute):
    """Routes under `prefix`, made by `build` when a request below `prefix` first comes."""

    def __init__(self, prefix: str, build: Callable[[], list[BaseRoute]]) -> None:
        self.prefix = prefix
        self._build = build
        self._routes: list[BaseRoute] | None = None
        self._lock = threading.Lock()

    @property
    def routes(self) -> list[BaseRoute]:
        if self._routes is None:
            with self._lock:
                if self._routes is None:
                    self._routes = self._build()
        return self._routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = route_path(scope)
        if scope["type"] != "http" or not (path == self.prefix
                                           or path.startswith(self.prefix + "/")):
            return Match.NONE, {}
        partial: tuple[Match, Scope] | None = None
        for route in self.routes:
            match, child = route.matches(scope)
            if match == Match.FULL:
                return match, {**child, _MATCHED: route}
            if match == Match.PARTIAL and partial is None:
                partial = (match, {**child, _MATCHED: route})
        return partial or (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[_MATCHED].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)


_MATCHED = "numerous.matched_route"


def agent_router(access: Access) -> APIRouter:
    route_class = type("AgentRoute", (_AgentRoute,),
                       {"max_body": access.runtime.sessions.limits.max_message_bytes,
                        "access": access})
    router = APIRouter(prefix=PREFIX, tags=["agent"], route_class=route_class, responses=_ERRORS)

    async def find(request: Request, session: str) -> Session:
        found, _ = access.find(session, await access.identify(request))
        return found

    @router.post("/sessions", status_code=201, response_model=OpenedSession)
    async def open_session(request: Request) -> Response:
        """Open a new session of the app for the caller (run_app() runs for it) and describe
        it. Without a browser it ends `grace` seconds (60 by default) after its last use."""
        token, fresh = token_or_new(request)
        identity = await access.identify(request, token)
        session = await access.open(identity, base_path(request))
        body = {**await _calls.describe(session), "client": token if fresh else None}
        return _with_token(request, JSONResponse(body, status_code=201), token, fresh)

    @router.get("/sessions/{session}", response_model=SessionInfo)
    async def describe(request: Request, session: str) -> Any:
        """The session's widgets (their public traits with types and current values, and
        their actions) and the actions run_app() defined."""
        return await _calls.describe(await find(request, session))

    @router.delete("/sessions/{session}", status_code=204)
    async def end_session(request: Request, session: str) -> Response:
        """End the session (only its owner may; a browser showing it is told)."""
        found, owner = access.find(session, await access.identify(request))
        if not owner:
            raise AgentError(403, "not_owner", "only the session's owner can end it")
        access.runtime.sessions.close(found, "This session was ended through the agent API.")
        return Response(status_code=204)

    @router.get("/sessions/{session}/widgets/{key}", response_model=WidgetInfo)
    async def describe_widget(request: Request, session: str, key: str) -> Any:
        """One widget: its public traits and its actions."""
        return await _calls.describe_one(await find(request, session), key)

    @router.get("/sessions/{session}/widgets/{key}/traits/{trait}", response_model=TraitValue)
    async def read_trait(request: Request, session: str, key: str, trait: str) -> Any:
        """A trait's current value (including what the browser changed)."""
        return await _calls.read_trait(await find(request, session), key, trait)

    @router.put("/sessions/{session}/widgets/{key}/traits/{trait}", response_model=TraitValue,
                responses={422: {"model": ErrorResponse, "description": "The trait refused "
                                 "the value; nothing changed."}})
    async def set_trait(request: Request, session: str, key: str, trait: str,
                        new: NewValue) -> Any:
        """Set a trait, as a callback would: observers run and a browser showing the session
        shows the new value. The answer holds the value after the observers ran."""
        return await _calls.set_trait(await find(request, session), key, trait, new.value)

    @router.post("/sessions/{session}/actions/{action}", response_model=ActionResult,
                 responses={422: {"model": ErrorResponse}})
    async def call_action(request: Request, session: str, action: str,
                          arguments: dict[str, Any] = Body(default_factory=dict)) -> Any:
        """Call an action run_app() defined, with its arguments as a JSON object."""
        return await _calls.call_action(await find(request, session), action, arguments)

    @router.post("/sessions/{session}/widgets/{key}/actions/{action}",
                 response_model=ActionResult, responses={422: {"model": ErrorResponse}})
    async def call_widget_action(request: Request, session: str, key: str, action: str,
                                 arguments: dict[str, Any] = Body(default_factory=dict)) -> Any:
        """Call a widget's @action method, with its arguments as a JSON object."""
        return await _calls.call_action(await find(request, session), action, arguments, key)

    @router.post("/sessions/{session}/attach-code", status_code=201, response_model=AttachCode)
    async def attach_code(request: Request, session: str) -> Any:
        """A single-use code (valid for a few minutes) with which another client of the same
        user (a script) can attach to this session. Only the session's owner gets one."""
        found, owner = access.find(session, await access.identify(request))
        if not owner:
            raise AgentError(403, "not_owner", "only the session's owner can hand it on")
        return {"session": found.id, "code": access.issue_code(found), "expires_in": CODE_TTL}

    @router.post("/attach", response_model=OpenedSession)
    async def attach(request: Request, body: AttachRequest) -> Response:
        """Trade an attach code for access to its session, and describe the session."""
        token, fresh = token_or_new(request)
        session = access.attach(body.code, await access.identify(request, token))
        described = {**await _calls.describe(session), "client": token if fresh else None}
        return _with_token(request, JSONResponse(described), token, fresh)

    return router


def _schema_route(router: APIRouter) -> Callable[[Request], Awaitable[Response]]:
    schemas: dict[str, dict[str, Any]] = {}

    async def schema(request: Request) -> Response:
        base = base_path(request)
        if base not in schemas:
            schemas[base] = get_openapi(
                title="Numerous app agent API", version="1", routes=router.routes,
                description="Drive a session of this app: see docs/agents.md.",
                servers=[{"url": base}] if base else None)
        return JSONResponse(schemas[base], headers={"Cache-Control": "no-cache"})

    return schema


def _with_token(request: Request, response: Response, token: str, fresh: bool) -> Response:
    return set_client_cookie(response, request, token) if fresh else response
