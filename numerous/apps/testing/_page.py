"""One page of an app as the in-process driver holds it: its WebSocket, frames both ways,
and waiting for what the server sends back.

The connection is an in-memory pair served by `serve_connection`, so every click, value and
custom message takes the path a real client's frames take: validation, the session thread,
callbacks, echo rules and acks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from numerous.apps._runtime import AppRuntime
from numerous.apps._connection import Disconnected, Frame, MemoryConnection, memory_pair
from numerous.apps._protocol import PROTOCOL_VERSION, decode, encode, split_buffers
from numerous.apps._session import Session
from numerous.apps._socket import serve_connection

from ._view import BrowserView, Message, WidgetView


class AppPageError(Exception):
    """The page of the app could not be opened: an error page, a redirect, or no app in it."""


class WaitTimeout(AssertionError):
    """Something waited for never happened; the message says what did."""


class _Signal:
    """Wakes every coroutine waiting for 'something changed' (frames in, frames read)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def until(self, check: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not check():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            event = self._event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return check()
        return True


class _CountingConnection:
    """The server's end, counting how often the server asked for the next frame.

    `serve_connection` handles a frame completely (validated, handed to the session thread)
    before it asks for the next one, so once it has asked `n + 1` times, it is done with the
    first `n` frames the client sent.
    """

    def __init__(self, inner: MemoryConnection, signal: _Signal) -> None:
        self.inner = inner
        self.receives = 0
        self._signal = signal

    async def send(self, frame: Frame) -> None:
        await self.inner.send(frame)

    async def receive(self) -> Frame:
        self.receives += 1
        self._signal.fire()
        return await self.inner.receive()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.inner.close(code, reason)


class AsyncAppSession:
    """One page of the app, as a browser has it: widgets by key, clicks, values, messages.

    Every action waits, by default, until the server has handled it and the frames it caused
    have arrived, so `await s.click("button")` is followed by the counter's new value.
    """

    def __init__(self, runtime: AppRuntime, session: Session, owner: str, page: str,
                 config: dict[str, Any], timeout: float) -> None:
        self.runtime = runtime
        self.session = session
        """The server's `Session` (its `widgets`, `user`, ...), for looking behind the page."""
        self.html = page
        """The page as the browser got it."""
        self.config = config
        """The page's client config (session id, widget ids, base, ...)."""
        self.view = BrowserView(config.get("widgets") or {})
        self.timeout = timeout
        self.close_code: int | None = None
        self._owner = owner
        self._signal = _Signal()
        self._seq = 0
        self._sent = 0
        self._barriers = 0
        self._barriers_seen = 0
        self._consumed: dict[tuple[str, str], int] = {}
        self._client: MemoryConnection | None = None
        self._server: _CountingConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def keys(self) -> list[str]:
        """The widget keys `run_app()` returned."""
        return list(self.view.keys)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Every `error` frame received (`code`, `message`, maybe `id` and `traceback`)."""
        return list(self.view.errors)

    @property
    def connected(self) -> bool:
        return self._client is not None and self.close_code is None

    def __getitem__(self, key: str) -> WidgetView:
        return WidgetView(key, self.view.model_of(key), self.session)

    def messages(self, key: str) -> list[Message]:
        """Custom messages the widget `key` sent to the browser, oldest first."""
        return list(self.view.model_of(key).messages)

    # --- connection ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the WebSocket (again): hello, then the snapshot up to `ready`."""
        server_end, client_end = memory_pair()
        self._client, self._server = client_end, _CountingConnection(server_end, self._signal)
        self.close_code, self._sent = None, 0
        reconnect = self.view.ready
        self.view.ready = False
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(serve_connection(self._server, self.runtime.sessions, self._owner)),
            loop.create_task(self._read(client_end))]
        await self._send({"type": "hello", "protocol": PROTOCOL_VERSION, "session": self.id})
        if not await self._signal.until(lambda: self.view.ready or not self.connected,
                                        self.timeout):
            raise WaitTimeout(f"no `ready` from the server within {self.timeout} s"
                              f"{self._since(0)}")
        if not self.view.ready:
            raise AppPageError(f"the server closed the connection ({self.close_code}): "
                               f"{self.view.lost or 'no reason given'}")
        if reconnect:
            await self._resync()

    async def _resync(self) -> None:
        ack = next((int(m.get("ack", 0)) for m in reversed(self.view.log)
                    if m.get("type") == "ready"), 0)
        for model_id, state in self.view.unacknowledged(ack).items():
            await self._send_update(model_id, state)

    async def _read(self, end: MemoryConnection) -> None:
        try:
            while True:
                message, buffers = decode(await end.receive())
                if message.get("type") == "synced":
                    self._barriers_seen = int(message["token"])
                else:
                    self.view.apply(message, buffers)
                self._signal.fire()
        except Disconnected as exc:
            self.close_code = exc.code
            self._signal.fire()

    async def reconnect(self) -> None:
        """Drop the WebSocket and open a new one, as the client does after a network drop."""
        await self._disconnect()
        await self.connect()

    async def _disconnect(self) -> None:
        client, server, tasks = self._client, self._server, self._tasks
        if client is None or server is None:
            return
        serving = tasks[0]
        await client.close()
        # Like a browser tab going away: the server notices, the page stops listening.
        done, _ = await asyncio.wait([serving], timeout=self.timeout)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.inner.close()  # releases its streams if the server did not get to it
        self._client = self._server = None
        if serving not in done:
            raise RuntimeError("serve_connection did not end when the page went away")

    async def close(self) -> None:
        """Close the page and end its session on the server (no grace period)."""
        await self._disconnect()
        self.runtime.sessions.close(self.session)
        if not await asyncio.to_thread(self.session.join, self.timeout):
            raise RuntimeError(f"session {self.id[:6]}'s thread did not end: a callback is stuck")

    # --- frames out ---------------------------------------------------------------------------

    async def _send(self, message: dict[str, Any], buffers: Sequence[bytes] = ()) -> None:
        if self._client is None:
            raise RuntimeError("the session is not connected")
        self._sent += 1
        await self._client.send(encode(message, buffers))

    async def _send_update(self, model_id: str, changes: dict[str, Any]) -> None:
        self._seq += 1
        self.view.models[model_id].set_local(changes, self._seq)
        state, paths, buffers = split_buffers(changes)
        message: dict[str, Any] = {"type": "update", "id": model_id, "state": state,
                                   "seq": self._seq}
        if paths:
            message["buffer_paths"] = paths
        await self._send(message, buffers)

    async def set(self, key: str, *, wait: bool = True, **traits: Any) -> None:
        """Change traits of widget `key` as its front-end would (`model.set`, `save_changes`).

        Values are JSON values (what the browser holds), bytes for binary traits.
        """
        model = self.view.model_of(key)
        unknown = [name for name in traits if name not in model.state]
        if unknown:
            known = ", ".join(sorted(n for n in model.state if not n.startswith("_")))
            raise AttributeError(f"widget {key!r} has no trait {', '.join(map(repr, unknown))}; "
                                 f"its traits are: {known}")
        await self._send_update(model.id, traits)
        if wait:
            await self.settle()

    async def click(self, key: str, *, wait: bool = True) -> None:
        """Click a button as numerous-widgets' buttons do: `clicked` + 1, then `value` True."""
        model = self.view.model_of(key)
        if "clicked" not in model.state:
            raise AttributeError(f"widget {key!r} has no 'clicked' trait, so it is not a "
                                 "numerous-widgets button; use set() to change its traits")
        await self._send_update(model.id, {"clicked": int(model.state["clicked"] or 0) + 1})
        await self._send_update(model.id, {"value": True})
        if wait:
            await self.settle()

    async def send(self, key: str, content: Any, buffers: Sequence[bytes] = (), *,
                   wait: bool = True) -> None:
        """A custom message to the widget's `on_msg` handlers, as `model.send()` sends it."""
        model = self.view.model_of(key)
        self._seq += 1
        await self._send({"type": "custom", "id": model.id, "content": content,
                          "seq": self._seq}, [bytes(b) for b in buffers])
        if wait:
            await self.settle()

    async def send_frame(self, frame: Frame, *, wait: bool = True) -> None:
        """A raw frame, exactly as given (for testing validation). `seq` is up to you."""
        if self._client is None:
            raise RuntimeError("the session is not connected")
        self._sent += 1
        await self._client.send(frame)
        if wait:
            await self.settle()

    # --- waiting ------------------------------------------------------------------------------

    async def settle(self, timeout: float | None = None) -> None:
        """Wait until the server has handled every frame sent so far and the frames it sent
        in return have arrived. Work a callback hands to other threads is not waited for."""
        timeout = self.timeout if timeout is None else timeout
        sent = self._sent
        if not await self._signal.until(
                lambda: not self.connected or self._server is None or
                self._server.receives > sent, timeout):
            raise WaitTimeout(f"the server did not read the frames sent within {timeout} s")
        if not self.connected:
            return
        # The protocol's `sync`: answered by the session thread after the jobs already queued,
        # so its `synced` comes after every frame those jobs sent.
        self._barriers += 1
        number = self._barriers
        try:
            await self._send({"type": "sync", "token": number})
        except Disconnected:
            return  # the session has ended; what it sent is all there is
        if not await self._signal.until(
                lambda: self._barriers_seen >= number or not self.connected, timeout):
            raise WaitTimeout(f"the server's frames did not arrive within {timeout} s")

    async def wait_for(self, key: str, predicate: Callable[[WidgetView], object] | None = None,
                       /, *, timeout: float | None = None, **traits: Any) -> WidgetView:
        """Wait until widget `key` has the given trait values (and `predicate(view)` is true).

        `await s.wait_for("counter", value=3)`;
        `await s.wait_for("total", lambda w: "6.00" in w.value)`.
        """
        timeout = self.timeout if timeout is None else timeout
        self.view.model_of(key)  # an unknown key fails now, naming the keys that exist
        start = len(self.view.log)

        def met() -> bool:
            view = self[key]
            state = view.state
            return (all(k in state and state[k] == v for k, v in traits.items())
                    and (predicate is None or bool(predicate(view))))

        ended = await self._signal.until(lambda: met() or self.view.lost is not None, timeout)
        if ended and met():
            return self[key]
        raise WaitTimeout(self._wait_failure(key, predicate, traits, timeout, start))

    def _wait_failure(self, key: str, predicate: Any, traits: dict[str, Any], timeout: float,
                      start: int) -> str:
        state = self.view.model_of(key).state
        wanted = ", ".join(f"{k}={v!r}" for k, v in traits.items())
        if predicate is not None:
            wanted = f"{wanted} and " if wanted else ""
            wanted += f"{getattr(predicate, '__name__', 'predicate')}(view) true"
        have = ", ".join(f"{k}={state[k]!r}" if k in state else f"no trait {k!r}"
                         for k in traits) or _public(state)
        ended = f" (the session ended: {self.view.lost})" if self.view.lost else ""
        return (f"widget {key!r} never had {wanted} within {timeout} s{ended}; it has {have}"
                f"{self._since(start)}")

    async def wait_for_message(self, key: str, *, timeout: float | None = None) -> Message:
        """The next custom message from widget `key` that no earlier call returned."""
        timeout = self.timeout if timeout is None else timeout
        model = self.view.model_of(key)
        index = self._consumed.get(("custom", key), 0)
        start = len(self.view.log)
        if not await self._signal.until(lambda: len(model.messages) > index, timeout):
            raise WaitTimeout(f"no custom message from widget {key!r} within {timeout} s "
                              f"({index} received before){self._since(start)}")
        self._consumed[("custom", key)] = index + 1
        return model.messages[index]

    async def wait_for_download(self, *, timeout: float | None = None) -> str:
        """The URL of the next file a callback sent to the browser with `download()`, which
        no earlier call returned; fetch it with `driver.request("GET", url)`."""
        timeout = self.timeout if timeout is None else timeout
        index = self._consumed.get(("download", ""), 0)
        start = len(self.view.log)

        def urls() -> list[str]:
            return [str(m["url"]) for m in self.view.log if m.get("type") == "download"]

        if not await self._signal.until(lambda: len(urls()) > index, timeout):
            raise WaitTimeout(f"no download within {timeout} s{self._since(start)}")
        self._consumed[("download", "")] = index + 1
        return urls()[index]

    async def wait_for_error(self, code: str | None = None, *,
                             timeout: float | None = None) -> dict[str, Any]:
        """The next `error` frame (with that `code`, if given) that no earlier call returned."""
        timeout = self.timeout if timeout is None else timeout
        errors = self.view.errors
        start = len(self.view.log)

        def find() -> int | None:
            first = self._consumed.get(("error", ""), 0)
            for index in range(first, len(errors)):
                if code is None or errors[index].get("code") == code:
                    return index
            return None

        if not await self._signal.until(lambda: find() is not None, timeout):
            what = f"error {code!r}" if code else "error"
            raise WaitTimeout(f"no {what} within {timeout} s{self._since(start)}")
        index = find()
        assert index is not None
        self._consumed[("error", "")] = index + 1
        return errors[index]

    def _since(self, start: int) -> str:
        log = self.view.log[start:]
        if not log:
            return "; nothing arrived while waiting"
        lines = [self.view.describe(m) for m in log[-12:]]
        more = f" (the last 12 of {len(log)})" if len(log) > 12 else ""
        return "; arrived while waiting" + more + ":\n  " + "\n  ".join(lines)


def _public(state: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in state.items() if not k.startswith("_"))
