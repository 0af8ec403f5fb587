"""Helpers for the agent API tests (this module holds no tests of its own).

Each test builds a small app in `tmp_path` with anywidget widgets and talks to it through
Starlette's TestClient with the lifespan running. One TestClient per app: its requests share
the event loop the sessions were created on. Several callers are simulated by swapping the
client's cookies (`as_caller`).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anywidget
import traitlets

from numerous.apps import NumerousApp, action, create_app
from numerous.apps._protocol import PROTOCOL_VERSION, decode

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient and warns when it falls back to httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["API", "JSON", "Counter", "TestClient", "as_caller", "config_of", "make_app",
           "run_counter", "serving", "ws_hello", "ws_message", "ws_until"]

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


def serving() -> Iterator[Callable[..., TestClient]]:
    """For a `served` fixture: `served(app)` gives a TestClient whose lifespan runs."""
    clients: list[TestClient] = []

    def serve(app: Any, **kwargs: Any) -> TestClient:
        kwargs.setdefault("follow_redirects", False)
        client = TestClient(app, **kwargs)
        client.__enter__()
        clients.append(client)
        return client

    yield serve
    for client in clients:
        client.__exit__(None, None, None)


def as_caller(client: TestClient, cookies: dict[str, str]) -> None:
    """Make the client's next requests come from a caller holding exactly these cookies."""
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)


def config_of(html: str) -> dict[str, Any]:
    match = re.search(r'<script id="numerous-config" type="application/json">(.*?)</script>',
                      html, re.DOTALL)
    assert match is not None, html
    return dict(json.loads(match.group(1)))


def ws_hello(ws: Any, session_id: str) -> None:
    ws.send_text(json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION,
                             "session": session_id}))


def ws_message(ws: Any, timeout: float = 3.0) -> dict[str, Any] | int:
    """The next protocol message, or the close code when the server closes."""
    async def receive() -> dict[str, Any]:
        with anyio.fail_after(timeout):
            return dict(await ws._send_rx.receive())  # noqa: SLF001

    message = ws.portal.call(receive)
    if message["type"] == "websocket.close":
        return int(message.get("code", 1000))
    frame = message.get("text") if message.get("text") is not None else message["bytes"]
    return dict(decode(frame)[0])


def ws_until(ws: Any, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first message matching `predicate`; earlier ones are skipped."""
    while True:
        message = ws_message(ws)
        assert isinstance(message, dict), f"closed with {message}"
        if predicate(message):
            return message
