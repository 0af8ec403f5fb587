"""Widgets shared by every visitor: `create_app(..., share_widgets=True)`.

The app's widgets are built once, on one thread of their own (the hub), and every page is a
`Viewer` of them: a session with its own id, owner, connection, outbox and acknowledgements,
but no widgets or thread of its own. What one browser changes is applied on the hub thread,
where the callbacks run, and every other browser receives it; what the callbacks change
reaches every browser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ipywidgets import Widget
from ipywidgets.widgets.widget import _instances as _widget_instances

from ._protocol import ClientCustom, ClientUpdate, CloseCode, ErrorCode
from ._session import Builder, Session

logger = logging.getLogger("numerous.apps")

T = TypeVar("T")


class SharedWidgets(Session):
    """The hub: the shared widgets and the thread that runs all their code."""

    def __init__(self, *, base: str, dev: bool, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__("shared", "", base=base, dev=dev, loop=loop)
        self._viewers: tuple[Viewer, ...] = ()
        self._origin: Viewer | None = None
        self.built: asyncio.Future[dict[str, Widget]] | None = None

    def ensure_started(self, builder: Builder) -> asyncio.Future[dict[str, Widget]]:
        if self.built is None:
            self.built = self.start(builder)
        return self.built

    @property
    def failed(self) -> bool:
        """Building the widgets raised."""
        built = self.built
        return built is not None and built.done() and (
            built.cancelled() or built.exception() is not None)

    def attach(self, viewer: Viewer) -> None:
        """From now on, `viewer` receives every change (event loop thread)."""
        self._viewers = (*self._viewers, viewer)

    def detach(self, viewer: Viewer) -> None:
        self._viewers = tuple(v for v in self._viewers if v is not viewer)

    @property
    def viewers(self) -> tuple[Viewer, ...]:
        return self._viewers

    def publish(self, comm_id: str, msg_type: str, data: dict[str, Any],
                buffers: list[Any] | None) -> None:
        for viewer in self._viewers:
            viewer.publish(comm_id, msg_type, data, buffers)  # each outbox keeps its own copy

    def page(self) -> Session | None:
        # current_session() in a callback: the page whose message it handles, never the hub.
        return self._origin

    def end(self, reason: str = "") -> None:
        raise RuntimeError("the shared widgets live as long as the server; end a page with "
                           "current_session().end()")

    def on_behalf_of(self, viewer: Viewer, fn: Callable[[], T]) -> T:
        """Run `fn` on the hub thread as `viewer`'s work: errors, current_session() and
        current_user() belong to that page."""
        self._origin, self.user = viewer, viewer.user
        try:
            return fn()
        finally:
            self._origin, self.user = None, None

    def handle_for(self, viewer: Viewer, message: ClientUpdate | ClientCustom) -> None:
        """Apply one viewer's message on the hub thread; tell the other viewers the result."""
        viewer.current_seq = max(viewer.current_seq, message["seq"])
        self.on_behalf_of(viewer, lambda: self._handle(message))
        widget = _widget_instances.get(message["id"])
        if message["type"] != "update" or widget is None or message["id"] not in self.comms:
            return
        names = [name for name in message["state"]
                 if not name.startswith("_") and name in widget.keys]
        if not names:
            return
        # ipywidgets does not send a value back to the frontend that set it; the others
        # must hear of it, each with its own acknowledgement.
        state = widget.get_state(names)
        for other in self._viewers:
            if other is not viewer and not other.closed:
                other.outbox.put_state("update", message["id"], state, other.current_seq)

    def send_error(self, code: ErrorCode, message: str, model_id: str | None = None,
                   detail: str | None = None) -> None:
        # An error belongs to the browser whose message caused it; others are only logged.
        if self._origin is not None:
            self._origin.send_error(code, message, model_id, detail)
        else:
            logger.warning("shared widgets: %s: %s", code, message)


class Viewer(Session):
    """One page of an app with shared widgets: a session without widgets of its own."""

    def __init__(self, hub: SharedWidgets, session_id: str, owner: str, *, base: str,
                 dev: bool, loop: asyncio.AbstractEventLoop, max_pending: int = 10_000,
                 user: Any = None) -> None:
        super().__init__(session_id, owner, base=base, dev=dev, loop=loop,
                         max_pending=max_pending, user=user)
        self.hub = hub
        self.comms = hub.comms  # the same dict: the hub adds and removes widgets in it

    def start(self, builder: Builder) -> asyncio.Future[dict[str, Widget]]:
        self.hub.attach(self)
        built = self.hub.ensure_started(builder)
        mine: asyncio.Future[dict[str, Widget]] = self.loop.create_future()

        def done(future: asyncio.Future[dict[str, Widget]]) -> None:
            if mine.cancelled():
                return
            if future.exception() is not None:
                mine.set_exception(future.exception())  # type: ignore[arg-type]
            else:
                self.widgets = future.result()
                mine.set_result(self.widgets)
        built.add_done_callback(done)
        return mine

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        if self.closed:
            return super().call(fn)
        return self.hub.call(lambda: self.hub.on_behalf_of(self, fn))

    def post(self, message: ClientUpdate | ClientCustom) -> None:
        self.hub._inbox.put(lambda: self.hub.handle_for(self, message))  # noqa: SLF001

    def close(self, reason: str = "This session has ended.",
              code: int = CloseCode.SESSION_UNKNOWN) -> None:
        if self.closed:
            return
        self.hub.detach(self)  # the shared widgets stay, for the other pages
        super().close(reason, code)

    def join(self, timeout: float | None = None) -> bool:
        return True

    @property
    def alive(self) -> bool:
        return False
