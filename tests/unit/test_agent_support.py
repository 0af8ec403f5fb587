"""Helpers for the agent API tests (this module holds no tests of its own).

Each test builds a small app in `tmp_path` with anywidget widgets and talks to it through
Starlette's TestClient with the lifespan running. One TestClient per app: its requests share
the event loop the sessions were created on. Several callers are simulated by swapping the
client's cookies (`as_caller`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from numerous.apps import NumerousApp, action, create_app

from ._support import config_of, ws_hello, ws_message  # noqa: F401 - re-exported

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient and warns when it falls back to httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["API", "JSON", "Counter", "TestClient", "as_caller", "config_of", "make_app",
           "run_counter", "ws_hello", "ws_message", "ws_until"]

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


def run_counter() -> dict[str, Any]:
    counter = Counter()

    @action
    def total(times: int, note: str = "") -> dict[str, Any]:
        """The value times `times`, with a note."""
        return {"total": counter.value * times, "note": note}

    return {"counter": counter}


def make_app(tmp_path: Path, app_generator: Callable[[], dict[str, Any]] = run_counter,
             **kwargs: Any) -> NumerousApp:
    (tmp_path / "index.html.j2").write_text("<main>{{ counter }}</main>")
    kwargs.setdefault("agent_api", True)
    return create_app(template="index.html.j2", base_dir=tmp_path, app_generator=app_generator,
                      **kwargs)



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
