"""Shared widgets across instances: every change published through the session store.

With `share_widgets=True` and a store, each instance has its own shared worker; this keeps
their widgets the same. A change on one instance (a visitor's, or a callback's) is written into
the store's hash of shared values and announced on its channel in one atomic step, so the store
puts all changes of all instances in one order and every instance hears them in that order.
An instance applies a change it hears from another one (without callbacks: they ran where the
change was made) unless it has a change of its own to the same trait still on its way; its own
change comes later in that order and wins. So the rule everywhere is: **the change that reached
the store last wins**, trait by trait, and every instance ends on the same value.

A new instance (and one whose store connection came back) first reads the hash, so it starts
from the values the others have. Changes made while the store was unreachable are published
when it answers again.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
from collections.abc import Callable
from typing import Any, Protocol

from ._widgets import widget_by_id
from ._worker import Worker

logger = logging.getLogger("numerous.apps")

RETRY = 1.0
"""Seconds between attempts while the store is unreachable."""


class Store(Protocol):
    def read(self, key: str) -> dict[str, str]: ...

    def publish(self, key: str, channel: str, fields: dict[str, str], message: str,
                keep: bool = False) -> None: ...

    def listen(self, channel: str, on_message: Callable[[str], None],
               on_ready: Callable[[], None], stop: threading.Event) -> None: ...


class Keeper(Protocol):
    """What the sync needs of the app's `StoreKeeper`."""

    @property
    def store(self) -> Store: ...

    def key(self, base: str, kind: str, name: str) -> str: ...

    def failed(self, operation: str, exc: BaseException) -> None: ...

    def recovered(self) -> None: ...


class SharedSync:
    """The link between one instance's shared worker and every other instance's."""

    def __init__(self, keeper: Keeper, worker: Worker, base: str) -> None:
        self.keeper = keeper
        self.worker = worker
        self.key = keeper.key(base, "shared", "values")
        self.channel = keeper.key(base, "shared", "changes")
        self.origin = secrets.token_hex(8)
        self.keys = {widget.model_id: key for key, widget in worker.widgets.items()}
        self.in_flight: dict[str, int] = {}
        """Own changes per field not yet heard back (shared thread only)."""
        self.applying = False
        self._outgoing: queue.SimpleQueue[dict[str, str] | None] = queue.SimpleQueue()
        self._unsent: dict[str, str] = {}
        self._stop = threading.Event()
        worker.on_change = self.changed
        for target, name in ((self._publish_loop, "publish"), (self._listen_loop, "listen")):
            threading.Thread(target=target, name=f"numerous-shared-{name}", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._outgoing.put(None)
        if self.worker.on_change == self.changed:
            self.worker.on_change = None

    # --- out: the shared thread notes, the publisher publishes ---------------------------------

    def changed(self, model_id: str, state: dict[str, Any]) -> None:
        """A value of a shared widget changed here (shared thread)."""
        key = self.keys.get(model_id)
        if key is None or self.applying:
            return  # not a widget run_app() returned, or a change heard from elsewhere
        fields = {}
        for name, value in state.items():
            if not name.startswith("_"):
                try:
                    fields[json.dumps([key, name])] = json.dumps(value)
                except (TypeError, ValueError):
                    continue
        if fields:
            for field in fields:
                self.in_flight[field] = self.in_flight.get(field, 0) + 1
            self._outgoing.put(fields)

    def _publish_loop(self) -> None:
        while not self._stop.is_set():
            try:
                fields = self._outgoing.get(timeout=RETRY)
            except queue.Empty:
                fields = {}
            if fields is None:
                return
            if self._unsent:  # in flight again, and newer values first
                again = list(self._unsent)
                fields, self._unsent = {**self._unsent, **fields}, {}
                self.worker.submit(lambda: self._count(again, 1))
            if fields:
                self._publish(fields)

    def _publish(self, fields: dict[str, str]) -> None:
        message = json.dumps({"o": self.origin, "f": fields})
        try:
            self.keeper.store.publish(self.key, self.channel, fields, message, keep=True)
        except Exception as exc:  # noqa: BLE001 - kept, and sent when the store is back
            self.keeper.failed("publish", exc)
            self._unsent.update(fields)
            self.worker.submit(lambda: self._count(list(fields), -1))  # none will come back
            return
        self.keeper.recovered()

    def _count(self, fields: list[str], step: int) -> None:
        for field in fields:
            left = self.in_flight.get(field, 0) + step
            if left > 0:
                self.in_flight[field] = left
            else:
                self.in_flight.pop(field, None)

    # --- in: the listener hears, the shared thread applies --------------------------------------

    def _listen_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.keeper.store.listen(self.channel, self._heard, self._catch_up, self._stop)
            except Exception as exc:  # noqa: BLE001 - subscribe again when the store is back
                self.keeper.failed("listen", exc)
                self._stop.wait(RETRY)

    def _catch_up(self) -> None:
        """Subscribed: start from the values in the store (what others changed meanwhile)."""
        fields = self.keeper.store.read(self.key)
        if fields:
            self.worker.submit(lambda: self._apply(fields))

    def _heard(self, text: str) -> None:
        try:
            message = json.loads(text)
            origin, fields = str(message["o"]), dict(message["f"])
        except (TypeError, ValueError, KeyError):
            logger.warning("shared widgets: ignored a malformed message on the store's channel")
            return
        if origin == self.origin:
            self.worker.submit(lambda: self._count(list(fields), -1))
        else:
            self.worker.submit(lambda: self._apply(fields))

    def _apply(self, fields: dict[str, str]) -> None:
        """Another instance's values (shared thread), checked as a visitor's would be, then
        shown on every page here. A trait with an own change in flight keeps it."""
        values: dict[str, dict[str, Any]] = {}
        for field, text in fields.items():
            if field in self.in_flight:
                continue
            try:
                key, name = json.loads(field)
                values.setdefault(str(key), {})[str(name)] = json.loads(text)
            except (TypeError, ValueError):
                continue
        self.applying = True
        try:
            self.worker.offered_values(values)
            for key, traits in values.items():
                widget = self.worker.widgets.get(key)
                if widget is not None and widget_by_id(widget.model_id) is widget:
                    widget.send_state([name for name in traits if name in widget.keys])
        finally:
            self.applying = False
