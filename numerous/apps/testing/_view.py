"""What a browser knows about a session: its models, as the frames from the server left them.

This mirrors `numerous/js/model.js`: a trait the client changed is not overwritten by a server
value whose `ack` is older than that change, and the server's `update`s are applied in order.
Nothing here does I/O; the driver feeds it frames and reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from numerous.apps._protocol import put_buffers
from numerous.apps._widgets import widget_by_id

if TYPE_CHECKING:
    from numerous.apps._session import Session


class Message(NamedTuple):
    """A custom message from a widget's Python side (`widget.send(content, buffers)`)."""

    content: Any
    buffers: list[bytes]


_MODEL_REF = "IPY_MODEL_"


class UnknownWidget(KeyError):
    """A widget key the app did not return from `run_app()`; the message names the ones it did."""

    def __init__(self, key: str, known: list[str]) -> None:
        super().__init__(key)
        self.key = key
        self.known = known

    def __str__(self) -> str:
        keys = ", ".join(sorted(self.known)) or "(none)"
        return f"no widget {self.key!r} in this session; the widget keys are: {keys}"


@dataclass
class Model:
    """One widget model as the browser holds it."""

    id: str
    state: dict[str, Any]
    pending: dict[str, int] = field(default_factory=dict)
    """trait -> seq of the client's last change the server has not acknowledged yet"""
    messages: list[Message] = field(default_factory=list)
    closed: bool = False

    def apply_server(self, state: dict[str, Any], ack: int) -> None:
        """The server's values, except for traits the client changed after `ack`."""
        for name, value in state.items():
            if self.pending.get(name, 0) > ack:
                continue
            self.pending.pop(name, None)
            self.state[name] = value

    def set_local(self, changes: dict[str, Any], seq: int) -> None:
        """The client changed traits and sent them with `seq` (model.set + save_changes)."""
        self.state.update(changes)
        for name in changes:
            self.pending[name] = seq


class BrowserView:
    """Every model of one page, the widget keys, and what else the server sent."""

    def __init__(self, widgets: dict[str, str]) -> None:
        self.keys: dict[str, str] = dict(widgets)
        self.models: dict[str, Model] = {}
        self.errors: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []
        """Every message received, without buffers, oldest first."""
        self.ready = False
        self._deferred: dict[str, dict[str, Any]] = {}
        self._snapshot: set[str] = set()
        self.lost: str | None = None
        """The reason given by `session_lost`, once the server said the session is gone."""

    def model_of(self, key: str) -> Model:
        """The model of widget `key`, or of a widget inside it: a dotted path through its
        traits that ends at a widget, e.g. `"controls.children.0"` for the first child of a
        box, or `"chart.layout"`."""
        head, _, path = key.partition(".")
        model_id = self.keys.get(head)
        model = self.models.get(model_id) if model_id is not None else None
        if model is None:
            raise UnknownWidget(head, list(self.keys))
        value: Any = model
        for part in path.split(".") if path else ():
            inside = value.state if isinstance(value, Model) else value
            if isinstance(inside, list) and part.isdigit() and int(part) < len(inside):
                value = inside[int(part)]
            elif isinstance(inside, dict) and part in inside:
                value = inside[part]
            else:
                raise KeyError(f"{key!r}: nothing at {part!r}")
            if isinstance(value, str) and value.startswith(_MODEL_REF):
                ref = value
                value = self.models.get(ref.removeprefix(_MODEL_REF))
                if value is None:
                    raise KeyError(f"{key!r}: {ref} is not a model of this page")
        if not isinstance(value, Model):
            raise KeyError(f"{key!r} is a value ({_short(value)}), not a widget")
        return value

    def key_of(self, model_id: str) -> str:
        for key, value in self.keys.items():
            if value == model_id:
                return key
        return model_id

    def apply(self, message: dict[str, Any], buffers: list[memoryview]) -> None:
        """Apply one decoded server message, as the browser client does."""
        self.log.append(message)
        kind = message.get("type")
        if kind in ("open", "update"):
            state = dict(message.get("state") or {})
            put_buffers(state, message.get("buffer_paths") or [], [bytes(b) for b in buffers])
            if kind == "open":
                self._open(message["id"], state)
            else:
                self._update(message["id"], state, int(message.get("ack", 0)))
        elif kind == "ready":
            self._ready(message)
        elif kind == "custom" and message.get("id") in self.models:
            self.models[message["id"]].messages.append(
                Message(message.get("content"), [bytes(b) for b in buffers]))
        elif kind == "close" and message.get("id") in self.models:
            self.models[message["id"]].closed = True
        elif kind == "error":
            self.errors.append(message)
        elif kind == "session_lost":
            self.lost = str(message.get("reason", ""))

    def _open(self, model_id: str, state: dict[str, Any]) -> None:
        self._snapshot.add(model_id)
        if model_id in self.models:
            # A reconnect: which of our own changes the state includes is known at `ready`.
            self._deferred[model_id] = state
        else:
            self.models[model_id] = Model(model_id, state)

    def _update(self, model_id: str, state: dict[str, Any], ack: int) -> None:
        if model_id in self._deferred:
            self._deferred[model_id].update(state)
        elif model_id in self.models:
            self.models[model_id].apply_server(state, ack)

    def _ready(self, message: dict[str, Any]) -> None:
        ack = int(message.get("ack", 0))
        for model_id, state in self._deferred.items():
            model = self.models[model_id]
            model.closed = False
            model.apply_server(state, ack)
        self._deferred.clear()
        for model_id, model in self.models.items():
            if model_id not in self._snapshot:
                model.closed = True
        self._snapshot.clear()
        self.keys = dict(message.get("widgets") or self.keys)
        self.ready = True

    def unacknowledged(self, ack: int) -> dict[str, dict[str, Any]]:
        """After a reconnect: per model, the changed traits the server has not seen."""
        unseen: dict[str, dict[str, Any]] = {}
        for model in self.models.values():
            for name, seq in list(model.pending.items()):
                if seq > ack:
                    unseen.setdefault(model.id, {})[name] = model.state[name]
                else:
                    del model.pending[name]
        return unseen

    def describe(self, message: dict[str, Any]) -> str:
        """A short line for a message, naming widgets by key, for failure messages."""
        kind = message.get("type")
        if kind in ("open", "update", "custom", "close"):
            what = self.key_of(str(message.get("id", "")))
            detail = message.get("state") if kind != "custom" else message.get("content")
            ack = f" (ack {message['ack']})" if "ack" in message else ""
            return f"{kind} {what} {_short(detail)}{ack}".rstrip()
        if kind == "error":
            on = f" on {self.key_of(message['id'])}" if "id" in message else ""
            return f"error {message.get('code')}{on}: {message.get('message')}"
        return f"{kind} {_short({k: v for k, v in message.items() if k != 'type'})}"


def _short(value: Any, limit: int = 120) -> str:
    if value is None:
        return ""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class WidgetView:
    """The browser's view of one widget: `view.value` is the trait as the page has it now."""

    def __init__(self, key: str, model: Model, session: Session) -> None:
        self.key = key
        self.id = model.id
        self._model = model
        self._session = session

    @property
    def state(self) -> dict[str, Any]:
        """A copy of every trait the browser holds, with binary values as bytes."""
        return dict(self._model.state)

    @property
    def messages(self) -> list[Message]:
        """Custom messages the widget's Python side sent to the browser, oldest first."""
        return list(self._model.messages)

    @property
    def closed(self) -> bool:
        return self._model.closed

    @property
    def widget(self) -> Any:
        """The Python widget on the server (read it; change it through the session's methods)."""
        widget = self._session.widgets.get(self.key)
        return widget if widget is not None else widget_by_id(self.id)

    def __getattr__(self, name: str) -> Any:
        state = self.__dict__["_model"].state
        if name in state:
            return state[name]
        traits = ", ".join(sorted(n for n in state if not n.startswith("_")))
        raise AttributeError(f"widget {self.__dict__['key']!r} has no trait {name!r}; "
                             f"its traits are: {traits}")

    def __repr__(self) -> str:
        public = {k: v for k, v in self._model.state.items() if not k.startswith("_")}
        return f"<WidgetView {self.key!r} {public!r}>"
