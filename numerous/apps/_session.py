"""A browser session: its widgets, its thread, and the traffic between them and the page.

`run_app()` and every callback of a session run on the session's own thread, one job at a
time, so user code never races with itself and a slow callback blocks only its own session.
Jobs arrive through a queue the thread blocks on: nothing polls.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from ipywidgets import Widget
from ipywidgets.widgets.widget import _instances as _widget_instances
from ipywidgets.widgets.widget import _put_buffers
from traitlets import TraitError

from . import _comm
from ._assets import ASSETS, is_url
from ._concurrency import notify, resolve
from ._outbox import Entry, Outbox
from ._protocol import ClientCustom, ClientUpdate, CloseCode, ErrorCode

logger = logging.getLogger("numerous.apps")

T = TypeVar("T")
Builder = Callable[[], dict[str, Any]]

_STOP = object()


class AppError(Exception):
    """`run_app()` failed or returned something that is not a dict of widgets."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class Session:
    """One page's widgets and the thread that runs their code."""

    def __init__(self, session_id: str, owner: str, *, base: str, dev: bool,
                 loop: asyncio.AbstractEventLoop, max_pending: int = 10_000,
                 user: Any = None) -> None:
        self.id = session_id
        self.owner = owner
        self.user = user
        self.base = base
        self.dev = dev
        self.loop = loop
        self.comms: dict[str, _comm.SessionComm] = {}
        self.widgets: dict[str, Widget] = {}
        self.outbox = Outbox(max_pending)
        self.closed = False
        self.current_seq = 0
        self.connection: Any = None
        self.expiry: asyncio.TimerHandle | None = None
        self.restorable = False
        """restore_state apps: the first connection may offer values back (see restore_values)."""
        self.joined = False
        self.on_end: Callable[[Session, str], None] | None = None
        """Set by the session manager: how `end()` removes the session from it."""
        self.initial_values: dict[str, dict[str, Any]] = {}
        self._on_close: list[Callable[[], object]] = []
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"numerous-session-{session_id[:6]}",
                                        daemon=True)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self, builder: Builder) -> asyncio.Future[dict[str, Widget]]:
        """Start the thread and build the widgets on it; the future settles when they exist."""
        self._thread.start()
        return self.call(lambda: self._build(builder))

    def _build(self, builder: Builder) -> dict[str, Widget]:
        try:
            widgets = builder()
        except Exception as exc:
            raise AppError(f"run_app() raised {type(exc).__name__}: {exc}",
                           traceback.format_exc()) from exc
        if not isinstance(widgets, dict):
            raise AppError(f"run_app() must return a dict of widgets, not {type(widgets).__name__}")
        bad = [str(k) for k, w in widgets.items() if not isinstance(w, Widget)]
        if bad:
            raise AppError(f"run_app() returned values that are not widgets: {', '.join(bad)}")
        unbound = [str(k) for k, w in widgets.items() if w.comm is None or
                   w.comm.comm_id not in self.comms]
        if unbound:
            raise AppError(
                "these widgets were not created inside this session (create them inside "
                f"run_app(), or pass them through create_app(widgets=...)): {', '.join(unbound)}")
        self.widgets = {str(k): w for k, w in widgets.items()}
        if self.dev:
            self.initial_values = {key: w.get_state() for key, w in self.widgets.items()}
        return self.widgets

    def _run(self) -> None:
        with _comm.bound_to(self):
            while True:
                job = self._inbox.get()
                if job is _STOP:
                    break
                try:
                    job()
                except Exception:
                    logger.exception("unexpected error in session %s", self.id[:6])
        self._teardown()

    def _teardown(self) -> None:
        with _comm.bound_to(self):
            for comm in list(self.comms.values()):
                widget = _widget_instances.get(comm.comm_id)
                try:
                    widget.close() if widget is not None else comm.close()
                except Exception:
                    logger.exception("error closing a widget of session %s", self.id[:6])
                if widget is not None:
                    _release_file_watchers(widget)
        self.comms.clear()
        self.widgets = {}
        # The outbox is left alone: it may still hold the message telling the browser.

    def close(self, reason: str = "This session has ended.",
              code: int = CloseCode.SESSION_UNKNOWN) -> None:
        """End the session: the browser is told, the widgets are closed on the session thread,
        then the thread ends.

        A thread stuck in user code ends when that code returns; the session is gone for the
        browser at once either way.
        """
        if self.closed:
            return
        self.closed = True
        self.outbox.put(Entry("control", payload={"reason": reason, "code": code}), force=True)
        self._inbox.put(_STOP)
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("error in an on_close callback of session %s", self.id[:6])

    def on_close(self, callback: Callable[[], object]) -> None:
        """Run `callback` once, on the event loop, when the session closes (at once, on the
        loop, if it has closed already); its exceptions are logged.

        How work the session started elsewhere (tasks, timers) stops with it.
        """
        if self.closed:
            notify(self.loop, callback)
        else:
            self._on_close.append(callback)

    def end(self, reason: str = "This session was ended by the app.") -> None:
        """End the session from any thread (a callback may end its own session).

        The browser shows the session-lost banner; the widgets are closed and the thread ends.
        """
        if self.on_end is not None:
            notify(self.loop, self.on_end, self, reason)
        else:
            notify(self.loop, self.close, reason)

    def page(self) -> Session | None:
        """The browser page this thread is working for now: the session itself."""
        return self

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- jobs -------------------------------------------------------------------------------

    def call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run `fn` on the session thread; await the returned future on the loop."""
        future: asyncio.Future[T] = self.loop.create_future()
        if self.closed:
            future.set_exception(RuntimeError("session is closed"))
            return future
        self._inbox.put(lambda: resolve(self.loop, future, fn))
        return future

    def post(self, message: ClientUpdate | ClientCustom) -> None:
        """Hand a validated message from the browser to the session thread."""
        self._inbox.put(lambda: self._handle(message))

    def _handle(self, message: ClientUpdate | ClientCustom) -> None:
        self.current_seq = max(self.current_seq, message["seq"])
        widget = _widget_instances.get(message["id"])
        if widget is None or message["id"] not in self.comms:
            self.send_error("unknown_widget", "no such widget in this session", message["id"])
            return
        if message["type"] == "update":
            self._apply_update(widget, message)
            return
        # Each on_msg handler is called here rather than through ipywidgets' dispatcher,
        # which would swallow its errors into a log line the app's developer never sees.
        content, buffers = message["content"], message["buffers"]
        for handler in list(widget._msg_callbacks.callbacks):  # noqa: SLF001
            self._run_callback(lambda h=handler: h(widget, content, buffers))

    def _apply_update(self, widget: Widget, message: ClientUpdate) -> None:
        state = message["state"]
        refused = [name for name in state if name.startswith("_") or name not in widget.keys]
        if refused:
            self.send_error("invalid_value", f"these traits cannot be set: {', '.join(refused)}",
                            message["id"])
            return
        problem = _foreign_reference(state, self.comms) or _invalid_value(widget, state)
        if problem is not None:
            self.send_error("invalid_value", problem, message["id"])
            widget.send_state(list(state))  # put the browser back on the server's value
            return
        # Validated: whatever fails from here on is the app's code (observers, callbacks).
        self._run_callback(lambda: widget.set_state(state))

    def _run_callback(self, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception as exc:
            logger.exception("error in a callback of session %s", self.id[:6])
            detail = traceback.format_exc() if self.dev else None
            self.send_error("callback_error", f"{type(exc).__name__}: {exc}" if self.dev else
                            "An error occurred in the app.", None, detail)

    def send_error(self, code: ErrorCode, message: str, model_id: str | None = None,
                   detail: str | None = None) -> None:
        payload: dict[str, Any] = {"code": code, "message": message}
        if model_id is not None:
            payload["id"] = model_id[:64]
        if detail:
            payload["traceback"] = detail
        self.outbox.put(Entry("error", payload=payload))

    # --- comms (called by SessionComm, on whatever thread touches the widget) -----------------

    def register_comm(self, comm: _comm.SessionComm) -> None:
        self.comms[comm.comm_id] = comm

    def unregister_comm(self, comm: _comm.SessionComm) -> None:
        self.comms.pop(comm.comm_id, None)

    def publish(self, comm_id: str, msg_type: str, data: dict[str, Any],
                buffers: list[Any] | None) -> None:
        if self.closed and msg_type != "comm_close":
            return
        if msg_type == "comm_open":
            state = self._with_buffers(data.get("state", {}), data.get("buffer_paths"), buffers)
            self.outbox.put_state("open", comm_id, self._asset_urls(state), self.current_seq)
        elif msg_type == "comm_close":
            if not self.closed:
                self.outbox.put(Entry("close", comm_id))
        else:
            self._publish_msg(comm_id, data, buffers)

    def _publish_msg(self, comm_id: str, data: dict[str, Any], buffers: list[Any] | None) -> None:
        method = data.get("method")
        if method == "update":
            state = self._with_buffers(data.get("state", {}), data.get("buffer_paths"), buffers)
            self.outbox.put_state("update", comm_id, self._asset_urls(state), self.current_seq)
        elif method == "custom":
            self.outbox.put(Entry("custom", comm_id, payload={"content": data.get("content")},
                                  buffers=list(buffers or [])))
        # "echo_update" is dropped: the browser already has the value it sent.

    @staticmethod
    def _with_buffers(state: dict[str, Any], paths: Any, buffers: list[Any] | None
                      ) -> dict[str, Any]:
        if not buffers:
            return state
        state = dict(state)
        _put_buffers(state, paths, buffers)
        return state

    def _asset_urls(self, state: dict[str, Any]) -> dict[str, Any]:
        for key, kind in (("_esm", "js"), ("_css", "css")):
            value = state.get(key)
            if isinstance(value, str) and value and not is_url(value):
                state[key] = f"{self.base}/numerous/assets/{ASSETS.register(value, kind)}"
        return state

    # --- dev mode: values carried across reloads ----------------------------------------------

    def changed_values(self) -> dict[str, dict[str, Any]]:
        """Public traits whose values differ from when run_app() returned (session thread)."""
        changed = {}
        for key, widget in self.widgets.items():
            initial = self.initial_values.get(key, {})
            state = widget.get_state()
            diff = {name: value for name, value in state.items()
                    if not name.startswith("_") and name in initial and initial[name] != value}
            if diff:
                changed[key] = diff
        return changed

    def restore_values(self, values: dict[str, dict[str, Any]]) -> None:
        """Put carried values back without firing callbacks: the values were consistent
        together before the reload, and replaying them as events would change them."""
        for key, traits in values.items():
            widget = self.widgets.get(key)
            if widget is None:
                continue
            for name, value in traits.items():
                if name.startswith("_") or name not in widget.keys:
                    continue
                from_json = widget.trait_metadata(name, "from_json", widget._trait_from_json)  # noqa: SLF001
                try:
                    valid = widget.traits()[name].validate(widget, from_json(value, widget))
                except Exception:  # noqa: BLE001 - the new code may have changed the trait
                    continue
                widget._trait_values[name] = valid  # noqa: SLF001

    # --- snapshot ---------------------------------------------------------------------------

    def snapshot(self) -> list[Entry]:
        """The full state of every widget, in creation order. Runs on the session thread."""
        entries = []
        for comm_id in list(self.comms):
            widget = _widget_instances.get(comm_id)
            if widget is None:
                continue
            state = self._asset_urls(widget.get_state())
            entries.append(Entry("open", comm_id, state, ack=self.current_seq))
        self.outbox.reset(set(self.comms))
        return entries


_REFERENCE = "IPY_MODEL_"


def _foreign_reference(value: Any, comms: dict[str, Any]) -> str | None:
    """A widget reference in a browser's value that names a widget of another session.

    ipywidgets resolves `IPY_MODEL_<id>` through its process-wide registry, so without this
    check a page could pull another session's widget into its own.
    """
    if isinstance(value, str):
        if value.startswith(_REFERENCE) and value[len(_REFERENCE):] not in comms:
            return "a widget reference names no widget of this session"
        return None
    if isinstance(value, dict):
        value = value.values()
    if isinstance(value, list | tuple | type({}.values())):
        for item in value:
            problem = _foreign_reference(item, comms)
            if problem:
                return problem
    return None


def _invalid_value(widget: Widget, state: dict[str, Any]) -> str | None:
    """Why a trait would refuse a value from the browser, or None when all are acceptable."""
    traits = widget.traits()
    for name, value in state.items():
        from_json = widget.trait_metadata(name, "from_json", widget._trait_from_json)  # noqa: SLF001
        try:
            traits[name]._validate(widget, from_json(value, widget))  # noqa: SLF001
        except TraitError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - a converter failing is a refused value too
            return f"{name}: {type(exc).__name__}: {exc}"
    return None


def current_session() -> Session | None:
    """The session whose thread is running, inside run_app() or a callback; else None.

    With shared widgets, the page whose message is being handled (None inside run_app())."""
    sink = _comm.current_sink()
    return sink.page() if isinstance(sink, Session) else None


def current_user() -> Any:
    """The signed-in user of the current session (None without authentication).

    Call it inside run_app() to build widgets for that user, or in a callback.
    """
    session = current_session()
    return session.user if session is not None else None


def _release_file_watchers(widget: Widget) -> None:
    """Disconnect anywidget's hot-reload hooks that keep a closed widget alive.

    anywidget connects every instance to the `changed` signal of its class's `_esm`/`_css`
    file contents with a closure over the instance. Those file contents live as long as the
    class, so without this every widget ever created would stay in memory.
    """
    for klass in type(widget).__mro__:
        for key in ("_esm", "_css"):
            _disconnect(getattr(klass.__dict__.get(key), "changed", None), widget)


def _disconnect(signal: Any, widget: Widget) -> None:
    if signal is not None:
        for slot in list(getattr(signal, "_slots", ())):
            callback = slot.dereference() if hasattr(slot, "dereference") else None
            cells = getattr(callback, "__closure__", None) or ()
            if any(cell.cell_contents is widget for cell in cells):
                signal.disconnect(callback)
