"""Serve one browser connection: hello, snapshot, then frames both ways until it ends."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio

from ._connection import Connection, Disconnected, Frame
from ._outbox import Wake
from ._protocol import (
    CloseCode,
    Hello,
    ProtocolError,
    Ready,
    ServerMessage,
    SessionLost,
    decode,
    encode_server,
    parse_client_message,
    parse_hello,
)
from ._session import Session
from ._sessions import SessionLimits, SessionManager

logger = logging.getLogger("numerous.apps")

HELLO_TIMEOUT = 10.0


Joined = Callable[[Session, Hello], Awaitable[bool]]


async def serve_connection(conn: Connection, manager: SessionManager, owner: str,
                           expires_at: float | None = None, on_join: Joined | None = None
                           ) -> None:
    """Run a connection to its end. Never raises for anything the client does.

    `expires_at` (Unix time) is when the credentials the connection was opened with run out:
    then it is closed with 4401, and the page renews its sign-in and reconnects to the same
    session, so that a socket is never used for longer than its access token is valid.
    `on_join` is awaited on a session's first connection (the session store puts values back).
    """
    with anyio.CancelScope(deadline=_deadline(expires_at)) as expiry:
        await _serve(conn, manager, owner, on_join)
    if expiry.cancelled_caught:
        logger.debug("a connection's sign-in ran out; closing it with 4401")
        await conn.close(CloseCode.UNAUTHORIZED, "the sign-in has expired")


def _deadline(expires_at: float | None) -> float:
    """`expires_at` on the event loop's clock (a timer, not polling)."""
    if expires_at is None:
        return math.inf
    return anyio.current_time() + max(0.0, expires_at - time.time())


async def _serve(conn: Connection, manager: SessionManager, owner: str,
                 on_join: Joined | None) -> None:
    joined = await _join(conn, manager, owner)
    if joined is None:
        return
    session, hello = joined
    previous, session.connection = session.connection, conn
    if previous is not None:
        await previous.close(CloseCode.REPLACED, "the session was opened in another connection")
    manager.attached(session)
    wake = session.outbox.listen(asyncio.get_running_loop())
    try:
        await _restore(session, hello, on_join)
        await _send_snapshot(conn, session, hello)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_send_loop, conn, session, wake, tasks.cancel_scope)
            await _receive_loop(conn, session, manager.limits)
            tasks.cancel_scope.cancel()
    except (Disconnected, RuntimeError):
        pass  # a closed session or a vanished client: the finally block is all that is left
    finally:
        session.outbox.unlisten(wake)
        if session.connection is conn:
            session.connection = None
            if not session.closed:
                manager.detached(session)


async def _join(conn: Connection, manager: SessionManager, owner: str
                ) -> tuple[Session, Hello] | None:
    try:
        with anyio.fail_after(HELLO_TIMEOUT):
            first = await conn.receive()
        hello = parse_hello(decode(first)[0])
    except TimeoutError:
        await conn.close(CloseCode.BAD_HELLO, "no hello")
        return None
    except ProtocolError as exc:
        await conn.close(CloseCode.BAD_HELLO, str(exc)[:120])
        return None
    except Disconnected:
        return None
    session = _page_session(manager, owner, hello)
    if session is None:
        await _lost(conn, "This session has ended.", CloseCode.SESSION_UNKNOWN)
        return None
    return session, hello


def _page_session(manager: SessionManager, owner: str, hello: Hello) -> Session | None:
    """The session of the page that said `hello`.

    A page the browser showed from its cache (a reload answered with 304) names the session
    of the copy it cached, which another page had; the session built for that reload is the
    one held for the owner's page at its address. A page joins a session that has no page
    yet, or its own again on a reconnect."""
    session = manager.get(hello["session"], owner)
    page = hello.get("page")
    if page is None or (session is not None and session.page in (None, page)):
        if session is not None and page is not None:
            session.page = page
        return session
    held = manager.claim(owner, hello.get("url", ""))
    if held is None:
        return session  # a copy nobody reloaded (a second tab's): it takes the session over
    held.page = page
    return held


async def _restore(session: Session, hello: Hello, on_join: Joined | None) -> None:
    """A page that lost its session offers its last values to the new one: taken once, on
    the first connection, where the app allows it (restore_state). What a session store kept
    comes first; the browser's copy is the fallback."""
    first, session.joined = not session.joined, True
    if first and on_join is not None and await on_join(session, hello):
        return
    values = hello.get("restore")
    if values and first and session.restorable:
        await session.call(lambda: session.offered_values(values))


async def _lost(conn: Connection, reason: str, code: int) -> None:
    try:
        await conn.send(encode_server(SessionLost(type="session_lost", reason=reason)))
    except Disconnected:
        pass
    await conn.close(code, reason[:120])


async def _send_snapshot(conn: Connection, session: Session, hello: Hello) -> None:
    kept = frozenset(hello.get("have", ()))
    for message in await session.call(lambda: session.snapshot(kept)):
        await conn.send(encode_message(message))
    widgets = {key: widget.model_id for key, widget in session.widgets.items()}
    ready = Ready(type="ready", widgets=widgets, ack=session.current_seq)
    if session.id != hello["session"]:
        ready["session"] = session.id
    await conn.send(encode_server(ready))


async def _send_loop(conn: Connection, session: Session, wake: Wake,
                     scope: anyio.CancelScope) -> None:
    """Send what the outbox holds whenever it is poked; the connection ends when this does."""
    try:
        await _drain(conn, session, wake)
    except Disconnected:
        pass
    finally:
        scope.cancel()


async def _drain(conn: Connection, session: Session, wake: Wake
                 ) -> None:
    async for _ in wake:
        for message, buffers in session.outbox.take():
            if message["type"] == "session_lost":
                await _lost(conn, message["reason"], session.outbox.close_code)
                return
            await conn.send(encode_message(message, buffers))
        if session.outbox.overflowed:
            logger.warning("session %s: client fell behind; disconnecting it", session.id[:6])
            await conn.close(CloseCode.TOO_SLOW, "client too slow; reconnect for a fresh state")
            return


class _Bucket:
    """A token bucket: `rate` tokens a second, bursts up to twice that."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, 2 * rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def has(self, cost: float) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens >= min(cost, self.capacity)

    def take(self, cost: float) -> None:
        self.tokens -= min(cost, self.capacity)


class _RateLimit:
    """What one connection may send: frames a second, and bytes a second (a few big frames
    cost the server as much parsing as many small ones). A refused frame costs nothing."""

    def __init__(self, limits: SessionLimits) -> None:
        self.frames = _Bucket(limits.max_frames_per_second)
        self.bytes = _Bucket(limits.max_bytes_per_second)
        self.warned = False

    def allow(self, frame: Frame) -> bool:
        size = _size(frame)
        if not (self.frames.has(1) and self.bytes.has(size)):
            return False
        self.frames.take(1)
        self.bytes.take(size)
        self.warned = False
        return True


async def _receive_loop(conn: Connection, session: Session, limits: SessionLimits) -> None:
    bucket = _RateLimit(limits)
    while True:
        try:
            frame = await conn.receive()
        except Disconnected:
            return
        if not bucket.allow(frame) and not _may_be_sync(frame):
            if not bucket.warned:
                bucket.warned = True
                session.send_error("rate_limited", "too many messages; some were dropped")
            continue
        if not _accept(frame, session, limits):
            logger.warning("session %s: a connection sent more than its inbox holds; closing it",
                           session.id[:6])
            await conn.close(CloseCode.TOO_MUCH, "too much sent at once; reconnect")
            return


def _may_be_sync(frame: Frame) -> bool:
    """A frame that may be a `sync` (short text naming it): answered even over the rate
    limit, since its sender waits for the answer. Anything else caught here is still parsed
    and checked like every frame."""
    return isinstance(frame, str) and len(frame) <= 64 and '"sync"' in frame


def _accept(frame: Frame, session: Session, limits: SessionLimits) -> bool:
    """Check one frame and post it to the worker; False when the session's inbox is full."""
    size = _size(frame)
    if size > limits.max_message_bytes:
        session.send_error("too_large", f"messages are limited to {limits.max_message_bytes} bytes")
        return True
    if session.inbound + size > limits.max_inbox_bytes:
        return False
    try:
        message = parse_client_message(*decode(frame))
    except ProtocolError as exc:
        session.send_error(exc.code, str(exc))
        return True
    if message["type"] != "sync" and message["id"] not in session.comms:
        session.send_error("unknown_widget", "no such widget in this session", message["id"][:64])
        return True
    session.post(message, size)
    return True


def _size(frame: Frame) -> int:
    """Bytes on the wire; a text frame is only encoded when its length leaves any doubt."""
    if isinstance(frame, str) and len(frame) * 4 > 1024:
        return len(frame.encode())
    return len(frame)


def encode_message(message: ServerMessage, buffers: Sequence[Any] = ()) -> Frame:
    """The frame for a message; values JSON cannot hold are made safe, never fatal."""
    try:
        return encode_server(message, buffers)
    except (TypeError, ValueError) as exc:
        logger.warning("a %s message held a value JSON cannot carry (%s); sent a safe form",
                       message["type"], exc)
        return encode_server(_sanitize(dict(message)), buffers)


_PLAIN = (str, int, bool, type(None), bytes, bytearray, memoryview)


def _sanitize(value: Any) -> Any:
    """`value` with what JSON cannot hold replaced: NaN and infinities by null, other objects
    by their text; binary values stay, for the frame's buffers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _sanitize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sanitize(v) for v in value]
    return value if isinstance(value, _PLAIN) else str(value)
