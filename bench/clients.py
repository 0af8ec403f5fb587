"""Browser-free clients for each wire protocol: open a session, click, watch the counter.

`OursClient` speaks docs/protocol.md: GET the page (its config names the session and the
models), WebSocket at `config.ws` with the `numerous_client` cookie, `hello`, `open`… `ready`,
then `update` frames with `seq`.

`RefClient` speaks numerous-apps 0.6.2 as its numerous.js does (read from its installed
source): GET the page, GET /api/widgets?session_id=null (which creates the session and returns
every widget's code and state), WebSocket at /ws/{client_id}/{session_id}, then `widget-update`
frames keyed by widget key. Its server reads two frames per loop turn and handles only the
second, which its browser client survives by sending every change twice (`set` then
`save_changes`); this client sends each update twice for the same reason.

Both count frames and bytes received and time each click from the send to the arrival of the
counter value it causes, stamped in the receiving task so the waiting coroutine's scheduling
delay is not counted.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import re
import secrets
import string
import struct
import sys
import time
import types
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .peers import PEERS

CONFIG_RE = re.compile(rb'<script id="numerous-config" type="application/json">(.*?)</script>',
                       re.S)
REF_SESSION_RE = re.compile(rb'"session_id"\s*:\s*"([^"]+)"')


class ClickFailed(Exception):
    """A click got no counter update in time, or the connection closed."""


class BaseClient:
    counter_key = "counter"
    button_key = "button"

    def __init__(self, base_url: str, http: httpx.AsyncClient) -> None:
        self.base_url = base_url
        self.http = http
        self.ws: ClientConnection | None = None
        self.value = 0.0
        self.clicks = 0
        self.base_value = 0.0
        self.frames_in = 0
        self.bytes_in = 0
        self.last_change = 0.0
        self.closed = False
        self._waiters: list[tuple[float, asyncio.Future[float]]] = []
        self._reader: asyncio.Task[None] | None = None

    # --- to implement -------------------------------------------------------------------

    async def open(self) -> None:
        raise NotImplementedError

    async def _send_click(self, clicked: int) -> None:
        raise NotImplementedError

    def _counter_value(self, frame: str | bytes) -> float | None:
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------

    def _start_reader(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for frame in self.ws:
                now = time.perf_counter()
                self.frames_in += 1
                self.bytes_in += len(frame)
                value = self._counter_value(frame)
                if value is not None:
                    self.value = value
                    self.last_change = now
                    self._resolve(value, now)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            for _, waiter in self._waiters:
                if not waiter.done():
                    waiter.set_exception(ClickFailed("connection closed"))
            self._waiters.clear()

    def _resolve(self, value: float, now: float) -> None:
        keep = []
        for expected, waiter in self._waiters:
            if value >= expected:
                if not waiter.done():
                    waiter.set_result(now)
            else:
                keep.append((expected, waiter))
        self._waiters = keep

    async def click(self, timeout: float = 10.0) -> float:
        """Click the button; seconds until the counter showed the click's value."""
        waiter = await self.click_nowait()
        return await self.wait_click(waiter, timeout)

    async def click_nowait(self) -> tuple[float, asyncio.Future[float]]:
        """Send a click without waiting for its answer: (send time, future of arrival time)."""
        if self.closed:
            raise ClickFailed("connection closed")
        self.clicks += 1
        expected = self.base_value + self.clicks
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((expected, waiter))
        sent = time.perf_counter()
        try:
            await self._send_click(self.clicks)
        except ConnectionClosed as exc:
            if (expected, waiter) in self._waiters:  # the reader may have failed them all
                self._waiters.remove((expected, waiter))
            waiter.cancel()
            raise ClickFailed("connection closed") from exc
        return sent, waiter

    @staticmethod
    async def wait_click(pending: tuple[float, asyncio.Future[float]], timeout: float) -> float:
        sent, waiter = pending
        try:
            arrived = await asyncio.wait_for(waiter, timeout)
        except TimeoutError as exc:
            raise ClickFailed("no counter update") from exc
        return arrived - sent

    async def wait_value(self, expected: float, timeout: float) -> float:
        """perf_counter time at which the counter reached `expected`."""
        if self.value >= expected:
            return self.last_change
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters.append((expected, waiter))
        return await asyncio.wait_for(waiter, timeout)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=5)


class OursClient(BaseClient):
    """docs/protocol.md."""

    async def open(self) -> None:
        # A returning browser's cookie (≥ 32 characters is kept by the server as it is); the
        # shared HTTP client's cookie jar then stays empty, so sessions do not share owners.
        token = secrets.token_urlsafe(24)
        page = await self.http.get(self.base_url + "/",
                                   headers={"Cookie": f"numerous_client={token}"})
        page.raise_for_status()
        match = CONFIG_RE.search(page.content)
        if match is None:
            raise RuntimeError("the page has no numerous-config")
        config = json.loads(match.group(1))
        self.token, self.session = token, config["session"]  # for a rebuild elsewhere
        self.counter_id = config["widgets"][self.counter_key]
        self.button_id = config["widgets"][self.button_key]
        self.seq = 0
        url = "ws" + self.base_url.removeprefix("http") + config["ws"]
        self.ws = await connect(url, additional_headers={"Cookie": f"numerous_client={token}"},
                                max_size=None, open_timeout=30)
        await self.ws.send(json.dumps({"type": "hello", "protocol": 1,
                                       "session": config["session"]}))
        await self._until_ready()
        self.base_value = self.value
        self._start_reader()

    async def _until_ready(self) -> None:
        assert self.ws is not None
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), 30)
            self.frames_in += 1
            self.bytes_in += len(frame)
            message = _our_message(frame)
            if message.get("type") == "open" and message.get("id") == self.counter_id:
                self.value = float(message["state"].get("value", 0))
            elif message.get("type") == "ready":
                return
            elif message.get("type") == "session_lost":
                raise RuntimeError(f"session lost: {message.get('reason')}")

    async def _send_click(self, clicked: int) -> None:
        assert self.ws is not None
        self.seq += 1
        await self.ws.send(json.dumps({"type": "update", "id": self.button_id,
                                       "state": {"clicked": clicked}, "seq": self.seq}))

    def _counter_value(self, frame: str | bytes) -> float | None:
        message = _our_message(frame)
        if message.get("type") == "update" and message.get("id") == self.counter_id:
            value = message.get("state", {}).get("value")
            return None if value is None else float(value)
        return None


def _our_message(frame: str | bytes) -> dict[str, Any]:
    if isinstance(frame, str):
        return json.loads(frame)  # type: ignore[no-any-return]
    count, first = struct.unpack_from("<II", frame, 0)
    end = struct.unpack_from("<I", frame, 8)[0] if count > 1 else len(frame)
    return json.loads(frame[first:end])  # type: ignore[no-any-return]


class RefClient(BaseClient):
    """numerous-apps 0.6.2, as its numerous.js drives it."""

    async def open(self) -> None:
        page = await self.http.get(self.base_url + "/")
        page.raise_for_status()
        widgets = await self.http.get(self.base_url + "/api/widgets",
                                      params={"session_id": "null"}, timeout=60)
        widgets.raise_for_status()
        # The answer holds every widget's code (megabytes): take the id without parsing it all.
        match = REF_SESSION_RE.search(widgets.content[:4096])
        if match is None:
            raise RuntimeError("no session_id in /api/widgets")
        session_id = match.group(1).decode()
        client_id = "".join(random.choices(string.ascii_lowercase + string.digits, k=9))
        url = f"ws{self.base_url.removeprefix('http')}/ws/{client_id}/{session_id}"
        self.ws = await connect(url, max_size=None, open_timeout=30)
        # numerous.js asks for the widget states right after connecting (its server drops it).
        await self.ws.send(json.dumps({"type": "get-widget-states", "client_id": client_id}))
        self.base_value = 0.0  # the bench apps' counters start at 0; sessions are new
        self._start_reader()

    async def _send_click(self, clicked: int) -> None:
        assert self.ws is not None
        frame = json.dumps({"type": "widget-update", "widget_id": self.button_key,
                            "property": "clicked", "value": clicked,
                            "request_id": f"{self.button_key}-{clicked}-{time.time_ns()}"})
        await self.ws.send(frame)
        await self.ws.send(frame)  # as numerous.js's set() then save_changes()

    def _counter_value(self, frame: str | bytes) -> float | None:
        text = frame if isinstance(frame, str) else frame.decode()
        if '"counter"' not in text:  # most frames are echoes of the button
            return None
        message = json.loads(text)
        if (message.get("type") == "widget-update" and message.get("widget_id") ==
                self.counter_key and message.get("property") == "value"):
            return float(message["value"])
        return None


class ShinyClient(BaseClient):
    """Shiny for Python 1.8, as its shiny.js drives it (read from its installed
    session/_session.py): GET the page, WebSocket at /websocket/, a `config` frame from the
    server, then `{"method": "init", "data": inputs}` with every input and the outputs' hidden
    flags, as the browser sends them. A click is `{"method": "update", "data":
    {"button:shiny.action": n}}`; the answer is a `values` frame with the counter output's
    text, "Count: n"."""

    async def open(self) -> None:
        page = await self.http.get(self.base_url + "/")
        page.raise_for_status()
        url = "ws" + self.base_url.removeprefix("http") + "/websocket/"
        self.ws = await connect(url, max_size=None, open_timeout=30)
        await asyncio.wait_for(self.ws.recv(), 30)  # {"config": {...}}
        await self.ws.send(json.dumps({"method": "init", "data": {
            "button:shiny.action": 0, ".clientdata_output_counter_hidden": False,
            ".clientdata_url_search": ""}}))
        while True:  # the first flush carries the counter's first value
            frame = await asyncio.wait_for(self.ws.recv(), 30)
            self.frames_in += 1
            self.bytes_in += len(frame)
            value = self._counter_value(frame)
            if value is not None:
                self.value = self.base_value = value
                break
        self._start_reader()

    async def _send_click(self, clicked: int) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps({"method": "update",
                                       "data": {"button:shiny.action": clicked}}))

    def _counter_value(self, frame: str | bytes) -> float | None:
        text = frame if isinstance(frame, str) else frame.decode()
        if '"values"' not in text:
            return None
        value = json.loads(text).get("values", {}).get(self.counter_key)
        if isinstance(value, str) and value.startswith("Count: "):
            return float(value.removeprefix("Count: "))
        return None


def streamlit_proto() -> tuple[Any, Any, Any]:
    """(BackMsg, ForwardMsg, WidgetStates) modules from the Streamlit venv's own `streamlit.proto`,
    loaded without importing Streamlit itself (only `protobuf` is needed here)."""
    if "streamlit.proto.BackMsg_pb2" not in sys.modules:
        found = sorted(PEERS["streamlit"].venv.glob("lib/python3.*/site-packages/streamlit"))
        if not found:
            raise RuntimeError("no Streamlit venv: run the suite with --frameworks streamlit")
        for name, path in (("streamlit", found[-1]), ("streamlit.proto", found[-1] / "proto")):
            module = types.ModuleType(name)
            module.__path__ = [str(path)]
            sys.modules.setdefault(name, module)
    return (importlib.import_module("streamlit.proto.BackMsg_pb2"),
            importlib.import_module("streamlit.proto.ForwardMsg_pb2"),
            importlib.import_module("streamlit.proto.WidgetStates_pb2"))


class StreamlitClient(BaseClient):
    """Streamlit 1.67, as its front end drives it (read from its installed
    web/server/starlette/starlette_websocket.py and proto/*.proto), with the protobuf classes
    of its own package: GET the page, WebSocket at /_stcore/stream with the "streamlit"
    subprotocol, a `BackMsg.rerun_script` with an empty `ClientState`; the script's run sends
    `ForwardMsg` deltas, among them the button (its widget id) and the "Count: n" markdown.
    A click is a `rerun_script` whose widget states hold the button's `trigger_value`; the
    answer is the delta with "Count: n"."""

    async def open(self) -> None:
        self.back, self.forward, self.states = streamlit_proto()
        self.button_id = ""
        self.value = -1.0  # until the script's first run has sent "Count: n"
        page = await self.http.get(self.base_url + "/")
        page.raise_for_status()
        url = "ws" + self.base_url.removeprefix("http") + "/_stcore/stream"
        self.ws = await connect(url, subprotocols=["streamlit"],  # type: ignore[list-item]
                                max_size=None, open_timeout=30)
        await self._rerun(None)
        while not self.button_id or self.value < 0:
            frame = await asyncio.wait_for(self.ws.recv(), 30)
            self.frames_in += 1
            self.bytes_in += len(frame)
            value = self._counter_value(frame)
            if value is not None:
                self.value = self.base_value = value
        self._start_reader()

    async def _rerun(self, trigger: str | None) -> None:
        assert self.ws is not None
        message = self.back.BackMsg()
        state = message.rerun_script
        state.query_string = ""
        state.page_script_hash = ""
        if trigger is not None:
            widget = state.widget_states.widgets.add()
            widget.id = trigger
            widget.trigger_value = True
        else:
            state.widget_states.SetInParent()
        await self.ws.send(message.SerializeToString())

    async def _send_click(self, clicked: int) -> None:
        await self._rerun(self.button_id)

    def _counter_value(self, frame: str | bytes) -> float | None:
        if isinstance(frame, str):
            return None
        message = self.forward.ForwardMsg()
        message.ParseFromString(frame)
        if message.WhichOneof("type") != "delta":
            return None
        delta = message.delta
        if delta.WhichOneof("type") != "new_element":
            return None
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "button":
            self.button_id = element.button.id
        elif kind == "markdown" and element.markdown.body.startswith("Count: "):
            return float(element.markdown.body.removeprefix("Count: "))
        return None


CLIENTS: dict[str, type[BaseClient]] = {"ours": OursClient, "reference": RefClient,
                                        "shiny": ShinyClient, "streamlit": StreamlitClient}
"""The frameworks whose wire protocol the load generator speaks, and its client for each."""


def client_class(framework_name: str) -> type[BaseClient]:
    return CLIENTS[framework_name]


def speaks(framework_name: str) -> bool:
    return framework_name in CLIENTS
