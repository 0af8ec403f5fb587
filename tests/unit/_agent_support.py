"""Helpers for the agent API tests (this module holds no tests of its own).

Each test builds a small app in `tmp_path` with `make_app` (`_support.make_app` with the agent
API on and this module's `Counter`, which has traits of every kind and actions) and talks to it
through Starlette's TestClient with the lifespan running. One TestClient per app: its requests share
the event loop the sessions were created on. Several callers are simulated by swapping the
client's cookies (`as_caller`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import anywidget
import traitlets

from numerous.apps import action

from . import _support
from ._support import TestClient, config_of, ws_hello, ws_message

__all__ = ["API", "JSON", "Counter", "TestClient", "as_caller", "config_of", "make_app",
           "run_agent_counter", "ws_hello", "ws_message", "ws_until"]

API = "/api/agent"
JSON = {"content-type": "application/json"}


class Counter(anywidget.AnyWidget):
    """Counts clicks."""

    _esm = "export default { render({ model, el }) { el.textContent = model.get('value'); } }"
    value = traitlets.Int(0, min=0, max=100, help="How many clicks").tag(sync=True)
    label = traitlets.Unicode("clicks").tag(sync=True)
    doubled = traitlets.Int(0).tag(sync=True)
    mode = traitlets.Enum(["up", "down"], default_value="up").tag(sync=True)
    version = traitlets.Unicode("1.0", read_only=True).tag(sync=True)
    _secret = traitlets.Unicode("hidden").tag(sync=True)
    local_only = traitlets.Int(0)

    @traitlets.observe("value")
    def _double(self, change: dict[str, Any]) -> None:
        self.doubled = 2 * change["new"]

    @action
    def add(self, amount: int = 1) -> int:
        """Add `amount` to the value; returns the new value."""
        self.value += amount
        return self.value

    @action(name="explode")
    def _explode(self) -> None:
        """Always fails."""
        raise ValueError("boom")

    def reset(self) -> None:
        """Not an action: no @action."""
        self.value = 0


def run_agent_counter() -> dict[str, Any]:
    """The agent's counter, and a session-level action (`total`) beside its own."""
    counter = Counter()

    @action
    def total(times: int, note: str = "") -> dict[str, Any]:
        """The value times `times`, with a note."""
        return {"total": counter.value * times, "note": note}

    return {"counter": counter}


make_app = partial(_support.make_app, app_generator=run_agent_counter, agent_api=True)
"""`make_app(tmp_path, provider=None, **options)`: the shared app, as the agent tests need it."""


def as_caller(client: TestClient, cookies: dict[str, str]) -> None:
    """Make the client's next requests come from a caller holding exactly these cookies."""
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)


def ws_until(ws: Any, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first message matching `predicate`; earlier ones are skipped."""
    while True:
        message = ws_message(ws)
        assert isinstance(message, dict), f"closed with {message}"
        if predicate(message):
            return message
