"""What the agent API does to a session, each as one job on the session's thread.

Writes are plain trait assignments made on that thread, exactly as a callback makes them: the
widget's observers run, and the new value goes to a browser showing the session as a server
update. (Posting a browser-style `update` message instead would be wrong twice over: ipywidgets
treats it as the browser's own value and sends the browser nothing, and its made-up `seq` would
confuse the page's acknowledgements.) The value is checked first with the same validation the
browser's updates get, so a refused value is a 422 with the trait's own message and nothing
changes.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic
from ipywidgets import Widget

from .._session import Session
from .._widgets import from_json, invalid_value
from ._action import ActionSpec, session_actions, widget_actions
from ._describe import describe_session, describe_widget, published_traits, to_json, trait_value
from ._errors import AgentError, ErrorKind, unknown

logger = logging.getLogger("numerous.apps.agent")

T = TypeVar("T")


async def run(session: Session, job: Callable[[], T]) -> T:
    """Run `job` on the session thread; a session that has ended is a 404."""
    try:
        return await session.call(job)
    except RuntimeError as exc:
        if session.closed:
            raise AgentError(404, "unknown_session", "no such session (it has ended)") from exc
        raise


async def describe(session: Session) -> dict[str, Any]:
    return await run(session, lambda: describe_session(session))


async def describe_one(session: Session, key: str) -> dict[str, Any]:
    return await run(session, lambda: describe_widget(key, _widget(session, key)))


async def read_trait(session: Session, key: str, name: str) -> dict[str, Any]:
    def job() -> dict[str, Any]:
        widget = _widget(session, key)
        _trait(widget, key, name)
        return {"widget": key, "trait": name, "value": trait_value(widget, name)}

    return await run(session, job)


async def set_trait(session: Session, key: str, name: str, value: Any) -> dict[str, Any]:
    def job() -> dict[str, Any]:
        widget = _widget(session, key)
        trait = _trait(widget, key, name)
        if trait.read_only:
            raise AgentError(422, "invalid_value", f"the {name!r} trait is read-only",
                             value=trait_value(widget, name))
        problem = (session.worker.shared_refusal(key, {name: value})
                   or invalid_value(widget, {name: value}))
        if problem is not None:
            raise AgentError(422, "invalid_value", problem, value=trait_value(widget, name))
        convert = from_json(widget, name)
        _app_code(session, lambda: setattr(widget, name, convert(value, widget)),
                  "callback_error", "the value was set, but a callback failed")
        return {"widget": key, "trait": name, "value": trait_value(widget, name)}

    return await run(session, job)


async def call_action(session: Session, name: str, arguments: dict[str, Any],
                      key: str | None = None) -> dict[str, Any]:
    def job() -> dict[str, Any]:
        function, spec = _action(session, name, key)
        try:
            values = spec.arguments.model_validate(arguments)
        except pydantic.ValidationError as exc:
            errors = json.loads(exc.json(include_url=False, include_input=False))
            message = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
                                for e in errors)
            raise AgentError(422, "invalid_arguments", message, errors=errors) from None
        args, kwargs = spec.bind(values)
        result = _app_code(session, lambda: function(*args, **kwargs), "action_error",
                           "the action failed")
        try:
            encoded = to_json(result)
        except Exception as exc:  # noqa: BLE001 - anything jsonable_encoder gives up on
            raise AgentError(500, "action_error", f"the action returned a value JSON cannot "
                             f"carry ({type(result).__name__}: {exc})") from None
        return {"action": spec.name, "result": encoded}

    return await run(session, job)


# --- lookups (session thread) -----------------------------------------------------------------


def _widget(session: Session, key: str) -> Widget:
    widget = session.widgets.get(key)
    if widget is None:
        raise unknown("widget", key, "this session", list(session.widgets))
    return widget


def _trait(widget: Widget, key: str, name: str) -> Any:
    traits = published_traits(widget)
    if name not in traits:
        raise unknown("trait", name, f"widget {key!r}", list(traits))
    return traits[name]


def _action(session: Session, name: str, key: str | None
            ) -> tuple[Callable[..., Any], ActionSpec]:
    if key is None:
        actions = session_actions(session)
        if name not in actions:
            raise unknown("action", name, "this session", list(actions))
        return actions[name].function, actions[name]
    widget = _widget(session, key)
    methods = widget_actions(widget)
    if name not in methods:
        raise unknown("action", name, f"widget {key!r}", list(methods))
    attribute, spec = methods[name]
    return getattr(widget, attribute), spec


def _app_code(session: Session, fn: Callable[[], T], kind: ErrorKind, what: str) -> T:
    """Run the app's code; its failure is logged, shown to the page like a callback's (the
    error modal in dev mode) and answered with a 500 naming it only in dev mode."""
    try:
        return fn()
    except Exception as exc:
        logger.exception("%s in session %s", what, session.id[:6])
        detail = traceback.format_exc() if session.dev else None
        message = f"{type(exc).__name__}: {exc}" if session.dev else "An error occurred in the app."
        session.send_error("callback_error", message, None, detail)
        extra = {"traceback": detail} if detail else {}
        raise AgentError(500, kind, f"{what}: {message}", **extra) from None
