"""The session's outgoing messages: coalesced per widget, bounded, handed to the event loop.

Session threads (and any other thread that touches a widget) put messages here; the
connection's sender task takes them in batches. State updates for a widget merge into the one
still waiting, so a callback that sets a value 10 000 times costs one frame per batch, and the
memory held for a slow client is bounded by the number of widgets and traits, not by time.
Messages that cannot merge (custom messages, errors) are counted; past the limit the outbox is
marked overflowed and the connection drops the client with a reason (it can reconnect and get
a fresh snapshot).

The wake-up goes over an anyio memory object stream of size one, poked through the loop's
`call_soon_threadsafe` only when the outbox goes from empty to non-empty.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._concurrency import notify

Kind = Literal["open", "update", "custom", "close", "error", "control", "reload", "dev_error"]


@dataclass
class Entry:
    kind: Kind
    id: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    buffers: list[Any] = field(default_factory=list)
    ack: int = 0


class Outbox:
    def __init__(self, max_pending: int = 10_000) -> None:
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._mergeable: dict[str, Entry] = {}
        self._unmerged = 0
        self.overflowed = False
        self.dropped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: MemoryObjectSendStream[None] | None = None
        self._listener: MemoryObjectReceiveStream[None] | None = None

    # --- producers (any thread) ---------------------------------------------------------

    def put_state(self, kind: Literal["open", "update"], model_id: str,
                  state: dict[str, Any], ack: int) -> None:
        with self._lock:
            waiting = self._mergeable.get(model_id)
            if waiting is not None and kind == "update":
                waiting.state.update(state)
                waiting.ack = max(waiting.ack, ack)
                return
            entry = Entry(kind, model_id, dict(state), ack=ack)
            self._mergeable[model_id] = entry
            self._append(entry)

    def put(self, entry: Entry, force: bool = False) -> None:
        """Queue a message that cannot merge; `force` ignores the bound (session control)."""
        with self._lock:
            if entry.id:
                # Later updates of this widget must come after this message, not merge before it.
                self._mergeable.pop(entry.id, None)
            self._unmerged += 1
            if self._unmerged > self.max_pending and not force:
                self.overflowed = True
                self.dropped += 1
                self._unmerged -= 1
                return
            self._append(entry)

    def _append(self, entry: Entry) -> None:
        was_empty = not self._entries
        self._entries.append(entry)
        if was_empty and self._loop is not None and self._wake is not None:
            notify(self._loop, _poke, self._wake)

    # --- consumer (the event loop) ------------------------------------------------------

    def listen(self, loop: asyncio.AbstractEventLoop) -> MemoryObjectReceiveStream[None]:
        """Start waking a new consumer; the previous one, if any, stops being woken."""
        send, receive = anyio.create_memory_object_stream[None](1)
        with self._lock:
            if self._wake is not None:
                self._wake.close()
            self._loop, self._wake, self._listener = loop, send, receive
            if self._entries:
                _poke(send)
        return receive

    def unlisten(self, stream: MemoryObjectReceiveStream[None]) -> None:
        with self._lock:
            stream.close()
            if self._listener is stream and self._wake is not None:
                self._wake.close()
                self._loop, self._wake, self._listener = None, None, None

    def take(self) -> list[Entry]:
        with self._lock:
            entries, self._entries = self._entries, []
            self._mergeable.clear()
            self._unmerged = 0
            return entries

    def reset(self, keep_ids: set[str]) -> None:
        """Drop what a full snapshot replaces; keep custom messages of live widgets and
        session control (a session closing must still tell its browser)."""
        with self._lock:
            self._entries = [e for e in self._entries if e.kind == "control" or
                             (e.kind == "custom" and e.id in keep_ids)]
            self._mergeable.clear()
            self._unmerged = len(self._entries)
            self.overflowed = False

    def __len__(self) -> int:
        return len(self._entries)


def _poke(stream: MemoryObjectSendStream[None]) -> None:
    try:
        stream.send_nowait(None)
    except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass  # a wake-up is already waiting, or nobody listens any more
