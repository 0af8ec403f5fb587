"""Helpers shared by the unit tests: polling with a deadline, a wire-level test client, a small
counter app (`make_app`), and reading a served page and its WebSocket through Starlette's
TestClient."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import anywidget
import traitlets

from numerous.apps import NumerousApp, create_app, current_user
from numerous.apps._connection import Disconnected, MemoryConnection
from numerous.apps._protocol import PROTOCOL_VERSION, decode, encode

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient and warns when it falls back to httpx.
    # Every test module imports TestClient from here, so this is the one place that filters it.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient  # noqa: F401 - imported from here

OWNER = "o" * 32
"""A client token of the length the page route hands out."""


def wait_until(predicate: Callable[[], object], timeout: float = 3.0,
               interval: float = 0.002) -> None:
    """Poll `predicate` until it is true; fail with a clear message at the deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


async def async_wait_until(predicate: Callable[[], object], timeout: float = 3.0,
                           interval: float = 0.002) -> None:
    """`wait_until` for coroutines: the event loop keeps running while we poll."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        await asyncio.sleep(interval)


async def join(session: Any, timeout: float = 3.0) -> bool:
    """Wait for a session's thread to end without blocking the event loop."""
    return await asyncio.to_thread(session.join, timeout)


class Field(anywidget.AnyWidget):
    """A text and a count; `Field.changes` counts the callbacks its value ran (set it to 0
    first): values put back without callbacks leave it alone."""

    _esm = "export default { render() {} }"
    value = traitlets.Unicode("").tag(sync=True)
    count = traitlets.Int(0).tag(sync=True)
    changes = 0

    @traitlets.observe("value")
    def _changed(self, change: dict[str, Any]) -> None:
        type(self).changes += 1


def all_at_once(calls: Sequence[Callable[[], Any]], timeout: float = 10.0) -> list[Any]:
    """Run each call on a thread of its own, released together, and return their results in
    the order they finished: the shape of a crowd asking for the same thing at once."""
    gate = threading.Barrier(len(calls))
    results: list[Any] = []

    def run(call: Callable[[], Any]) -> None:
        gate.wait()
        results.append(call())

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


def hello(session_id: str) -> dict[str, Any]:
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "session": session_id}


class WireClient:
    """The browser's end of an in-memory connection, speaking protocol frames."""

    def __init__(self, end: MemoryConnection, task: asyncio.Task[None]) -> None:
        self.end = end
        self.task = task
        self.seq = 0

    async def send(self, message: dict[str, Any], buffers: Sequence[bytes] = ()) -> None:
        await self.end.send(encode(message, buffers))

    async def send_raw(self, frame: str | bytes) -> None:
        await self.end.send(frame)

    async def update(self, model_id: str, state: dict[str, Any], **extra: Any) -> int:
        """Send an update with the next seq; returns that seq."""
        self.seq += 1
        await self.send({"type": "update", "id": model_id, "state": state, "seq": self.seq,
                         **extra})
        return self.seq

    async def recv(self, timeout: float = 3.0) -> tuple[dict[str, Any], list[memoryview]]:
        with anyio.fail_after(timeout):
            frame = await self.end.receive()
        return decode(frame)

    async def message(self, timeout: float = 3.0) -> dict[str, Any]:
        return (await self.recv(timeout))[0]

    async def until(self, predicate: Callable[[dict[str, Any]], bool] | str,
                    timeout: float = 3.0) -> dict[str, Any]:
        """The first message matching `predicate` (or of that type); earlier ones are skipped."""
        if isinstance(predicate, str):
            kind = predicate
            predicate = lambda m: m.get("type") == kind  # noqa: E731
        deadline = time.monotonic() + timeout
        while True:
            message = await self.message(max(0.0, deadline - time.monotonic()))
            if predicate(message):
                return message

    async def snapshot(self, timeout: float = 3.0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The `open` messages up to `ready`, and the `ready` message."""
        opens = []
        while True:
            message = await self.message(timeout)
            if message["type"] == "ready":
                return opens, message
            assert message["type"] == "open", message
            opens.append(message)

    async def closed(self, timeout: float = 3.0) -> tuple[int, list[dict[str, Any]]]:
        """Read until the server closes; the close code and the messages read on the way."""
        seen = []
        with anyio.fail_after(timeout):
            while True:
                try:
                    frame = await self.end.receive()
                except Disconnected as exc:
                    return exc.code, seen
                seen.append(decode(frame)[0])

    async def quiet(self, timeout: float = 0.05) -> list[dict[str, Any]]:
        """Whatever arrives within `timeout` (used to check that nothing more is sent)."""
        seen = []
        try:
            while True:
                seen.append(await self.message(timeout))
        except TimeoutError:
            return seen


# --- a small app ------------------------------------------------------------------------------

ESM = "export default { render() {} }\n" + "// widget code\n" * 200
"""The counter's front-end: long enough for compression to matter."""

PAGE_TEMPLATE = ("<!DOCTYPE html><html><head><title>t</title></head><body>"
                 "<main>{{ counter }}</main></body></html>")


class Counter(anywidget.AnyWidget):
    _esm = ESM
    _css = ".counter { color: teal }"
    value = traitlets.Int(0).tag(sync=True)
    owner = traitlets.Unicode("").tag(sync=True)


def run_counter() -> dict[str, Any]:
    """A counter that shows who opened the session (current_user() inside run_app)."""
    user = current_user()
    return {"counter": Counter(owner=user.username if user is not None else "")}


def make_app(folder: Path, auth_provider: Any = None, *, template: str = PAGE_TEMPLATE,
             app_generator: Callable[[], dict[str, Any]] | None = run_counter,
             **options: Any) -> NumerousApp:
    """`create_app` serving `template` from `folder` (created if need be) with a counter.

    Any other `create_app` option goes through: `make_app(tmp_path, provider, dev=True)`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html.j2").write_text(template)
    return create_app(template="index.html.j2", base_dir=folder, app_generator=app_generator,
                      auth_provider=auth_provider, **options)


# --- a page and its WebSocket through Starlette's TestClient -----------------------------------


def config_of(html: str) -> dict[str, Any]:
    """The `numerous-config` object of a served page."""
    match = re.search(r'<script id="numerous-config" type="application/json">(.*?)</script>',
                      html, re.DOTALL)
    assert match is not None, html
    return dict(json.loads(match.group(1)))


def ws_hello(ws: Any, session_id: str) -> None:
    ws.send_text(json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION,
                             "session": session_id}))


def ws_receive(ws: Any, timeout: float = 3.0) -> dict[str, Any]:
    """The next ASGI message from the server, failing instead of hanging."""
    async def receive() -> dict[str, Any]:
        with anyio.fail_after(timeout):
            return dict(await ws._send_rx.receive())  # noqa: SLF001

    return dict(ws.portal.call(receive))


def ws_message(ws: Any, timeout: float = 3.0) -> dict[str, Any] | int:
    """The next protocol message, or the close code when the server closes."""
    message = ws_receive(ws, timeout)
    if message["type"] == "websocket.close":
        return int(message.get("code", 1000))
    frame = message.get("text") if message.get("text") is not None else message["bytes"]
    return dict(decode(frame)[0])
