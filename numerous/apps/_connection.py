"""The one seam between sessions and a WebSocket: send, receive, close.

Session code only sees `Connection`. `StarletteConnection` wraps a real WebSocket;
`MemoryConnection` is an in-process pair used by the test harness and unit tests.
"""

from __future__ import annotations

from typing import Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from starlette.websockets import WebSocket, WebSocketDisconnect

Frame = str | bytes


class Disconnected(Exception):
    """The other side has gone; `code` is the close code when one was given."""

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class Connection(Protocol):
    async def send(self, frame: Frame) -> None: ...

    async def receive(self) -> Frame: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class StarletteConnection:
    """A Starlette WebSocket seen as a `Connection`."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket
        self._closed = False

    async def send(self, frame: Frame) -> None:
        if self._closed:
            raise Disconnected(1006, "closed")
        try:
            if isinstance(frame, str):
                await self._ws.send_text(frame)
            else:
                await self._ws.send_bytes(frame)
        except (WebSocketDisconnect, RuntimeError, OSError) as exc:
            self._closed = True
            raise Disconnected(1006, "send failed") from exc

    async def receive(self) -> Frame:
        if self._closed:
            raise Disconnected(1006, "closed")
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            self._closed = True
            raise Disconnected(message.get("code", 1000), message.get("reason") or "")
        text = message.get("text")
        if text is not None:
            return str(text)
        return bytes(message.get("bytes") or b"")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._ws.close(code, reason)
        except (RuntimeError, OSError):
            pass


class MemoryConnection:
    """One end of an in-memory connection. Build a pair with `memory_pair()`."""

    def __init__(self, outgoing: MemoryObjectSendStream[Frame | Disconnected],
                 incoming: MemoryObjectReceiveStream[Frame | Disconnected]) -> None:
        self._out = outgoing
        self._in = incoming
        self.close_code: int | None = None
        self.close_reason = ""

    async def send(self, frame: Frame) -> None:
        if self.close_code is not None:
            raise Disconnected(1006, "closed")
        try:
            await self._out.send(frame)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise Disconnected(1006, "peer gone") from None

    async def receive(self) -> Frame:
        try:
            item = await self._in.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._release()
            raise Disconnected(self.close_code or 1006, self.close_reason) from None
        if isinstance(item, Disconnected):
            self.close_code, self.close_reason = item.code, item.reason
            self._release()
            raise item
        return item

    def _release(self) -> None:
        """The peer has gone: close this end's streams too (they hold nothing more)."""
        self._out.close()
        self._in.close()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.close_code is not None:
            return
        self.close_code, self.close_reason = code, reason
        try:
            self._out.send_nowait(Disconnected(code, reason))
        except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        self._release()


def memory_pair(buffer: int = 10_000) -> tuple[MemoryConnection, MemoryConnection]:
    """Two connected ends: what one sends, the other receives."""
    a_send, b_receive = anyio.create_memory_object_stream[Frame | Disconnected](buffer)
    b_send, a_receive = anyio.create_memory_object_stream[Frame | Disconnected](buffer)
    return MemoryConnection(a_send, a_receive), MemoryConnection(b_send, b_receive)
