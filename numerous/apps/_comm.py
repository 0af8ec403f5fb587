"""Route ipywidgets' comms to the session whose thread creates the widget.

ipywidgets opens one comm per widget through `comm.create_comm`. Replacing that factory once
lets every widget use its own code paths (state sync, `send`/`on_msg`, binary buffers, close)
as in Jupyter, while the messages go to the session that owns the widget. Widgets made
outside any session (module-level widgets at import time) get the factory that was there
before, so Jupyter keeps working in the same process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import comm
from comm.base_comm import BaseComm


class CommSink(Protocol):
    """What a session offers its comms."""

    def register_comm(self, comm: SessionComm) -> None: ...

    def unregister_comm(self, comm: SessionComm) -> None: ...

    def publish(self, comm_id: str, msg_type: str, data: dict[str, Any],
                buffers: list[Any] | None) -> None: ...


class SessionComm(BaseComm):
    """A comm whose messages go to one session instead of a Jupyter kernel."""

    def __init__(self, sink: CommSink, **kwargs: Any) -> None:
        self._sink = sink
        super().__init__(**kwargs)

    def open(self, data: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
             buffers: list[Any] | None = None) -> None:
        # No global CommManager: the session is the registry, so nothing outlives it.
        self._sink.register_comm(self)
        self.publish_msg("comm_open", data=self._open_data if data is None else data,
                         buffers=buffers)
        self._closed = False

    def close(self, data: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
              buffers: list[Any] | None = None, deleting: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        self.publish_msg("comm_close", data=self._close_data if data is None else data)
        self._sink.unregister_comm(self)

    def publish_msg(self, msg_type: str, data: dict[str, Any] | None = None,
                    metadata: dict[str, Any] | None = None, buffers: list[Any] | None = None,
                    **keys: Any) -> None:
        self._sink.publish(self.comm_id, msg_type, data or {}, buffers)

    def handle_msg(self, msg: dict[str, Any]) -> None:
        # BaseComm's version imports IPython to fire kernel events; there is no kernel here.
        if self._msg_callback is not None:
            self._msg_callback(msg)


_local = threading.local()
_previous_factory = comm.create_comm


def _create_comm(*args: Any, **kwargs: Any) -> BaseComm:
    sink: CommSink | None = getattr(_local, "sink", None)
    if sink is None:
        return _previous_factory(*args, **kwargs)
    return SessionComm(sink, **kwargs)


def install() -> None:
    """Make `comm.create_comm` session-aware (idempotent)."""
    global _previous_factory
    if comm.create_comm is not _create_comm:
        _previous_factory = comm.create_comm
        comm.create_comm = _create_comm


@contextmanager
def bound_to(sink: CommSink) -> Iterator[None]:
    """Widgets created on this thread inside the block belong to `sink`."""
    previous = getattr(_local, "sink", None)
    _local.sink = sink
    try:
        yield
    finally:
        _local.sink = previous


def current_sink() -> CommSink | None:
    return getattr(_local, "sink", None)
