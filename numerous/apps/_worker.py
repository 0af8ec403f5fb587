"""A worker: the widgets of one page (or of every page) and the jobs that run their code.

`run_app()` and every callback run as the worker's jobs, one at a time and in order, on the
threads of the session pool (`_pool.py`), so user code never races with itself and a slow
callback blocks only its own worker. An idle worker holds no thread: its jobs wait in a few
slots, and nothing polls.

A private worker serves one page and ends with it. A shared worker (`share_widgets=True`)
serves every page of the app and lives as long as the server: what one page changes is applied
here, where the callbacks run, and every other page is told. The pages themselves
(`Session`: id, owner, connection, outbox, acknowledgements) hold no thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any, Literal, Protocol, TypeVar

from ipywidgets import Widget

from . import _comm
from ._assets import ASSETS, is_url
from ._concurrency import resolve
from ._outbox import Outbox
from ._pool import Job, Serial, SessionPool
from ._protocol import Close, Custom, ErrorCode, ServerMessage, WidgetMessage
from ._writes import SharedWrites, refusal
from ._widgets import (
    invalid_value,
    message_handlers,
    opened_state,
    set_from_browser,
    set_quietly,
    settable_from_browser,
    widget_by_id,
    with_buffers,
)

logger = logging.getLogger("numerous.apps")

T = TypeVar("T")
Builder = Callable[[], dict[str, Any]]


class Page(Protocol):
    """What a worker needs of a page it serves (`numerous.apps._session.Session` is one): the
    worker depends on this shape, never on the page module, so dependencies run one way."""

    closed: bool
    current_seq: int
    outbox: Outbox

    def send_error(self, code: ErrorCode, message: str, model_id: str | None = None,
                   detail: str | None = None) -> None: ...


class AppError(Exception):
    """`run_app()` failed or returned something that is not a dict of widgets."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class Worker(Serial):
    """The widgets of one page (or of all pages, `shared`) and the jobs that run their code."""

    # One per session of an ordinary app: no instance dict, to keep an idle session small.
    __slots__ = ("_context", "_origin", "assets", "base", "built", "comms", "dev",
                 "initial_values", "loop", "name", "on_change", "pages", "shared", "stopped",
                 "widgets",
                 "writes")

    def __init__(self, name: str, *, base: str, dev: bool, loop: asyncio.AbstractEventLoop,
                 shared: bool = False, assets: set[str] | None = None,
                 writes: SharedWrites | None = None, pool: SessionPool | None = None) -> None:
        super().__init__(pool)
        self.name = name
        self.base = base
        self.assets = assets if assets is not None else set()
        """The asset names this app serves: its widgets' code is added as it is published."""
        self.dev = dev
        self.loop = loop
        self.shared = shared
        self.writes = writes if writes is not None or not shared else SharedWrites()
        """What visitors may write (shared widgets only: a private page writes its own)."""
        self.comms: dict[str, _comm.SessionComm] = {}
        self.widgets: dict[str, Widget] = {}
        self.initial_values: dict[str, dict[str, Any]] = {}
        self.pages: tuple[Page, ...] = ()
        """The pages that receive what the widgets publish."""
        self.built: asyncio.Future[dict[str, Widget]] | None = None
        self.stopped = False
        self.on_change: Callable[[str, dict[str, Any]], None] | None = None
        """Told (on this thread) of every value a widget takes: a model id and its traits.
        The session store keeps them (`_store.py`); None: nobody listens."""
        self._origin: Page | None = None
        self._context = contextvars.Context()
        """The worker's own context variables (`current_page()`, the app's): every job runs
        in it, as if the worker had a thread of its own, whichever pool thread runs it."""

    # --- lifecycle --------------------------------------------------------------------------

    def build(self, builder: Builder) -> asyncio.Future[dict[str, Widget]]:
        """Build the widgets as the worker's first job, once; the future settles when they
        exist (the same future for every page of a shared worker)."""
        if self.built is None:
            self.built = self.submit_call(lambda: self._build(builder))
        return self.built

    @property
    def failed(self) -> bool:
        """Building the widgets raised (a shared worker is then replaced for the next page)."""
        built = self.built
        return built is not None and built.done() and (
            built.cancelled() or built.exception() is not None)

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

    def attach(self, page: Page) -> None:
        """From now on, `page` receives what the widgets publish (event loop thread)."""
        self.pages = (*self.pages, page)
        if not self.shared:
            self._origin = page  # a private worker works for its page, even in run_app()

    def detach(self, page: Page) -> None:
        """`page` has closed; a private worker ends with it, a shared one carries on."""
        self.pages = tuple(p for p in self.pages if p is not page)
        if not self.shared:
            self.stop()

    def stop(self) -> None:
        """Close the widgets, then run no more jobs (after the jobs already queued)."""
        if not self.stopped:
            self.stopped = True
            if self.built is None:
                self.mark_ended()  # nothing was ever built: nothing to close
            else:
                self.submit(self._teardown)

    def drain(self) -> None:
        # A pool thread runs this worker's jobs: widgets made meanwhile belong to it.
        with _comm.bound_to(self):
            super().drain()

    def run_job(self, job: Job) -> None:
        # In the worker's own context variables, whichever pool thread runs the job.
        try:
            self._context.run(job)
        except Exception:
            logger.exception("unexpected error in %s", self.name)

    def _teardown(self) -> None:
        for comm in list(self.comms.values()):
            widget = widget_by_id(comm.comm_id)
            try:
                widget.close() if widget is not None else comm.close()
            except Exception:
                logger.exception("error closing a widget of %s", self.name)
            if widget is not None:
                _release_file_watchers(widget)
        self.comms.clear()
        self.widgets = {}
        self.initial_values = {}
        self._origin = None
        self._context = contextvars.Context()  # what the app kept there goes too
        self.mark_ended()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the worker has closed its widgets and runs nothing more (not from one
        of its own jobs)."""
        return self.wait_ended(timeout)

    @property
    def alive(self) -> bool:
        """Started and not yet ended (whether or not a job runs right now)."""
        return self.built is not None and not self.ended

    # --- jobs -------------------------------------------------------------------------------

    def submit_call(self, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Run `fn` on the thread; await the returned future on the loop."""
        future: asyncio.Future[T] = self.loop.create_future()
        if self.stopped:
            future.set_exception(RuntimeError("session is closed"))
            return future
        self.submit(partial(resolve, self.loop, future, fn))
        return future

    def page(self) -> Page | None:
        """The page this thread is working for now: `current_session()`. A shared worker
        works for nobody in particular inside run_app()."""
        return self._origin

    def on_behalf_of(self, page: Page, fn: Callable[[], T]) -> T:
        """Run `fn` (on the thread) as `page`'s work: errors, current_session() and
        current_user() belong to that page."""
        previous, self._origin = self._origin, page
        try:
            return fn()
        finally:
            self._origin = previous

    # --- what the browser sends (worker thread) -----------------------------------------------

    def handle(self, page: Page, message: WidgetMessage) -> None:
        """Apply one page's message; on a shared worker, tell the other pages the result."""
        page.current_seq = max(page.current_seq, message["seq"])
        if not self.shared:
            self._handle(message)  # a private worker always works for its one page
            if self.on_change is not None and message["type"] == "update":
                self._report(message["id"], message["state"])
            return
        self.on_behalf_of(page, lambda: self._handle(message))
        if message["type"] == "update":
            self._tell_others(page, message["id"], message["state"])
        if self.on_change is not None and message["type"] == "update":
            self._report(message["id"], message["state"])

    def _report(self, model_id: str, sent: dict[str, Any]) -> None:
        # ipywidgets sends no echo of a browser's value: the store hears of it here.
        widget = widget_by_id(model_id)
        names = [name for name in sent if widget is not None and widget.has_trait(name)]
        if names and self.on_change is not None and widget is not None:
            self.on_change(model_id, widget.get_state(names))

    def _handle(self, message: WidgetMessage) -> None:
        widget = widget_by_id(message["id"])
        if widget is None or message["id"] not in self.comms:
            self.send_error("unknown_widget", "no such widget in this session", message["id"])
            return
        if message["type"] == "update":
            self._apply_update(widget, message["id"], message["state"])
            return
        # Each on_msg handler is called here rather than through ipywidgets' dispatcher,
        # which would swallow its errors into a log line the app's developer never sees.
        content, buffers = message["content"], message["buffers"]
        for handler in message_handlers(widget):
            self._run_callback(partial(handler, widget, content, buffers))

    def _apply_update(self, widget: Widget, model_id: str, state: dict[str, Any]) -> None:
        # Names that are no trait at all are dropped, as ipywidgets' own set_state drops them
        # (Plotly's front end sends `_js2py_widget_layoutDelta`, which its Python side lacks).
        state = {name: value for name, value in state.items() if widget.has_trait(name)}
        problem = self._refusal(widget, state)
        if problem is not None:
            self.send_error("invalid_value", problem, model_id)
            names = [name for name in state if settable_from_browser(widget, name)]
            if names:
                widget.send_state(names)  # put the browser back on the server's value
            return
        # Validated: whatever fails from here on is the app's code (observers, callbacks).
        self._run_callback(lambda: set_from_browser(widget, state))

    def _tell_others(self, page: Page, model_id: str, sent: dict[str, Any]) -> None:
        # ipywidgets does not send a value back to the frontend that set it; the other pages
        # must hear of it, each with its own acknowledgement.
        widget = widget_by_id(model_id)
        if widget is None or model_id not in self.comms:
            return
        names = [name for name in sent if settable_from_browser(widget, name)]
        if not names:
            return
        state = widget.get_state(names)
        for other in self.pages:
            if other is not page and not other.closed:
                other.outbox.put_state("update", model_id, state, other.current_seq)

    def _run_callback(self, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception as exc:
            logger.exception("error in a callback of %s", self.name)
            detail = traceback.format_exc() if self.dev else None
            self.send_error("callback_error", f"{type(exc).__name__}: {exc}" if self.dev else
                            "An error occurred in the app.", None, detail)

    def send_error(self, code: ErrorCode, message: str, model_id: str | None = None,
                   detail: str | None = None) -> None:
        """An error belongs to the page whose message caused it; with none, it is logged."""
        if self._origin is not None:
            self._origin.send_error(code, message, model_id, detail)
        else:
            logger.warning("%s: %s: %s", self.name, code, message)

    # --- comms (called by SessionComm, on whatever thread touches the widget) -----------------

    def register_comm(self, comm: _comm.SessionComm) -> None:
        self.comms[comm.comm_id] = comm

    def unregister_comm(self, comm: _comm.SessionComm) -> None:
        self.comms.pop(comm.comm_id, None)

    def publish(self, comm_id: str, msg_type: str, data: dict[str, Any],
                buffers: list[Any] | None) -> None:
        """A widget's comm message, as a typed message into the outbox of every open page."""
        method = data.get("method") if msg_type == "comm_msg" else msg_type
        if method == "comm_open" or method == "update":
            state = self.asset_urls(with_buffers(data.get("state", {}), data.get("buffer_paths"),
                                                 buffers))
            kind: Literal["open", "update"] = "open" if method == "comm_open" else "update"
            if kind == "open":
                state = opened_state(state)
            for page in self.pages:
                if not page.closed:
                    page.outbox.put_state(kind, comm_id, state, page.current_seq)
            if kind == "update" and self.on_change is not None:
                self.on_change(comm_id, state)
        elif method == "custom":
            message = Custom(type="custom", id=comm_id, content=data.get("content"))
            self._deliver(message, list(buffers or []))
        elif method == "comm_close":
            self._deliver(Close(type="close", id=comm_id), [])
        # "echo_update" is dropped: the browser already has the value it sent.

    def _deliver(self, message: ServerMessage, buffers: list[Any]) -> None:
        for page in self.pages:
            if not page.closed:
                page.outbox.put(message, buffers)  # never changed later: one for every page

    def asset_urls(self, state: dict[str, Any]) -> dict[str, Any]:
        """Widget code never travels in a message: inline `_esm`/`_css` become asset URLs."""
        for key, kind in (("_esm", "js"), ("_css", "css")):
            value = state.get(key)
            if isinstance(value, str) and value and not is_url(value):
                name = ASSETS.register(value, kind, self.assets)
                state[key] = f"{self.base}/numerous/assets/{name}"
        return state

    # --- dev mode: values carried across reloads ----------------------------------------------

    def changed_values(self) -> dict[str, dict[str, Any]]:
        """Public traits whose values differ from when run_app() returned (worker thread)."""
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
                if not name.startswith("_") and name in widget.keys:
                    set_quietly(widget, name, value)

    def offered_values(self, values: dict[str, dict[str, Any]]) -> None:
        """Put back values a browser offers (restore_state) without firing callbacks, each
        checked as an update from that browser would be; a refused value is left out."""
        for key, traits in values.items():
            widget = self.widgets.get(key)
            if widget is None or not isinstance(traits, dict):
                continue
            for name, value in traits.items():
                if self._refusal(widget, {name: value}) is None:
                    set_quietly(widget, name, value)

    def _refusal(self, widget: Widget, state: dict[str, Any]) -> str | None:
        """Why a browser may not write `state` into `widget`, or None: the one check of
        updates and offered values."""
        refused = [name for name in state if not settable_from_browser(widget, name)]
        if refused:
            names = ", ".join(name[:64] for name in refused[:5])
            return f"these traits cannot be set: {names}{', ...' if len(refused) > 5 else ''}"
        key = next((k for k, w in self.widgets.items() if w is widget), None)
        return (self.shared_refusal(key, state) or _foreign_reference(state, self.comms)
                or invalid_value(widget, state))

    def shared_refusal(self, key: str | None, state: dict[str, Any]) -> str | None:
        """Why the app's write policy refuses `state` for the shared widget called `key`
        (None for a widget run_app() did not return); always None for private widgets."""
        return refusal(self.writes, key, state) if self.writes is not None else None


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
