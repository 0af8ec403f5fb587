"""The session's outgoing messages: coalesced per widget, bounded, handed to the event loop.

Session threads (and any other thread that touches a widget) put messages here; the
connection's sender task takes them in batches. State updates for a widget merge into the one
still waiting, so a callback that sets a value 10 000 times costs one frame per batch, and the
memory held for a slow client is bounded by the number of widgets and traits, not by time.
A private trait (`_name`) set again is the exception: widgets use those as messages, so each
value goes out in order.
Messages that cannot merge (custom messages, errors) are counted; past the limit the outbox is
marked overflowed and the connection drops the client with a reason (it can reconnect and get
a fresh snapshot).

The wake-up is a `Wake`: a flag and a future on the event loop, poked (through the loop's
`call_soon_threadsafe` from a session thread, `call_soon` on the loop itself) only when the
outbox goes from empty to non-empty. It replaced an anyio memory object stream of size one,
whose receive costs an extra pass of the loop per wake-up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any, Literal

import anyio

from ._concurrency import notify
from ._protocol import CloseCode, Open, ServerMessage, SessionLost, Update

Outgoing = tuple[ServerMessage, Sequence[Any]]
"""A message for the browser and the buffers that travel with it (custom messages only;
binary values in a state stay in the state until the frame is encoded)."""

_REPLACED_BY_SNAPSHOT = ("open", "update", "close")


class Outbox:
    def __init__(self, max_pending: int = 10_000) -> None:
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._entries: list[Outgoing] = []
        self._mergeable: dict[str, Open | Update] = {}
        self._unmerged = 0
        self.overflowed = False
        self.dropped = 0
        self.coalesced = 0
        self.close_code: int = CloseCode.SESSION_UNKNOWN
        """The WebSocket close code that follows a queued `session_lost`."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: Wake | None = None

    # --- producers (any thread) ---------------------------------------------------------

    def put_state(self, kind: Literal["open", "update"], model_id: str,
                  state: dict[str, Any], ack: int) -> None:
        """Queue a widget's state; an `update` merges into one still waiting for the widget.

        The outbox keeps its own copy of `state` (merging changes it)."""
        with self._lock:
            waiting = self._mergeable.get(model_id)
            if waiting is not None and kind == "update":
                if not _private_overlap(waiting["state"], state):
                    waiting["state"].update(state)
                    waiting["ack"] = max(waiting["ack"], ack)
                    self.coalesced += 1
                    return
                # A private trait set again before the first value went out: widgets use those
                # as messages between their halves (Plotly sets `_py2js_relayout`, then resets
                # it to None), so each value is delivered, in order, and counted like a message.
                self._unmerged += 1
                if self._unmerged > self.max_pending:
                    self.overflowed = True
                    self.dropped += 1
                    self._unmerged -= 1
                    return
            message: Open | Update
            if kind == "open":
                message = Open(type="open", id=model_id, state=dict(state), buffer_paths=[],
                               ack=ack)
            else:
                message = Update(type="update", id=model_id, state=dict(state),
                                 buffer_paths=[], ack=ack)
            self._mergeable[model_id] = message
            self._append((message, ()))

    def put(self, message: ServerMessage, buffers: Sequence[Any] = (),
            force: bool = False) -> None:
        """Queue a message that cannot merge; `force` ignores the bound (session control)."""
        with self._lock:
            if message["type"] == "custom" or message["type"] == "close":
                # Later updates of this widget must come after this message, not merge before it.
                self._mergeable.pop(message["id"], None)
            self._unmerged += 1
            if self._unmerged > self.max_pending and not force:
                self.overflowed = True
                self.dropped += 1
                self._unmerged -= 1
                return
            self._append((message, buffers))

    def end(self, reason: str, code: int) -> None:
        """Queue the last message: the session is gone, then the socket closes with `code`."""
        with self._lock:
            self.close_code = code
        self.put(SessionLost(type="session_lost", reason=reason), force=True)

    def _append(self, entry: Outgoing) -> None:
        was_empty = not self._entries
        self._entries.append(entry)
        if was_empty and self._loop is not None and self._wake is not None:
            notify(self._loop, _poke, self._wake)

    # --- consumer (the event loop) ------------------------------------------------------

    def listen(self, loop: asyncio.AbstractEventLoop) -> Wake:
        """Start waking a new consumer (on the loop); the previous one, if any, ends."""
        wake = Wake(loop)
        with self._lock:
            if self._wake is not None:
                self._wake.close()
            self._loop, self._wake = loop, wake
            if self._entries:
                wake.poke()
        return wake

    def unlisten(self, wake: Wake) -> None:
        with self._lock:
            wake.close()
            if self._wake is wake:
                self._loop, self._wake = None, None

    def take(self) -> list[Outgoing]:
        with self._lock:
            entries, self._entries = self._entries, []
            self._mergeable.clear()
            self._unmerged = 0
            return entries

    def reset(self, keep_ids: set[str]) -> None:
        """Drop what a full snapshot replaces (widget states, closes, custom messages of widgets
        that are gone); keep the rest: custom messages of live widgets, errors (a timer's that
        failed before the page connected), notices, downloads, the end of the session and
        answers to `sync`."""
        with self._lock:
            self._entries = [(m, b) for m, b in self._entries
                             if m["type"] not in _REPLACED_BY_SNAPSHOT
                             and (m["type"] != "custom" or m["id"] in keep_ids)]
            self._mergeable.clear()
            self._unmerged = len(self._entries)
            self.overflowed = False

    def __len__(self) -> int:
        return len(self._entries)


def _private_overlap(waiting: dict[str, Any], state: dict[str, Any]) -> bool:
    return any(name.startswith("_") and name in waiting for name in state)


def _poke(wake: Wake) -> None:
    wake.poke()


class Wake:
    """What the sender task awaits: poked when the outbox has something, ended by `close`.

    Poked and closed on the event loop only (producers on other threads go through
    `notify`). Pokes while one is pending merge into it."""

    __slots__ = ("_loop", "_poked", "_waiter", "closed")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._poked = False
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def poke(self) -> None:
        if not self.closed:
            self._poked = True
            self._release()

    def close(self) -> None:
        self.closed = True
        self._release()

    def _release(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def receive_nowait(self) -> None:
        """Take a pending poke; `anyio.WouldBlock` without one (`EndOfStream` once closed)."""
        if self._poked:
            self._poked = False
            return
        raise anyio.EndOfStream if self.closed else anyio.WouldBlock

    async def receive(self) -> None:
        """Wait for a poke; `anyio.EndOfStream` once closed."""
        while not self._poked:
            if self.closed:
                raise anyio.EndOfStream
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        self._poked = False

    def __aiter__(self) -> Wake:
        return self

    async def __anext__(self) -> None:
        try:
            await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None
