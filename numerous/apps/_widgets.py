"""The one module that reaches into ipywidgets' and traitlets' private parts.

Sessions need a few things ipywidgets keeps to itself: its registry of live widgets by model id,
its list of `on_msg` handlers, its default JSON converter, a trait's validation without the
assignment, and a way to set a value without firing observers. Each is wrapped here, once, so
an ipywidgets release that moves one of them breaks one small module and not the session code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import anywidget
from ipywidgets import Widget
from ipywidgets.widgets import widget as ipywidgets_widget
from ipywidgets.widgets.widget import _instances, _put_buffers
from traitlets import HasTraits

MessageHandler = Callable[[Widget, Any, list[Any]], object]

_FIXED = frozenset({"_esm", "_css", "_model_name", "_model_module", "_model_module_version",
                    "_view_name", "_view_module", "_view_module_version"})
"""Synced traits that decide which code runs and which model a widget is: never the browser's
to change."""


_NULL_DEFAULTS = frozenset({("@jupyter-widgets/base", "LayoutModel")})
"""Models whose every trait defaults to null in the browser too (`@jupyter-widgets/base`)."""


def opened_state(state: dict[str, Any]) -> dict[str, Any]:
    """The state an `open` message carries: a Layout model's null traits are left out.

    Every ipywidgets DOMWidget, anywidgets included, has a Layout of 40 traits, nearly always
    all null: 1 kB of every widget's snapshot. The browser's Layout model defaults each one to
    null, so leaving them out changes nothing there (docs/protocol.md).
    """
    if (state.get("_model_module"), state.get("_model_name")) not in _NULL_DEFAULTS:
        return state
    return {name: value for name, value in state.items() if value is not None}


def settable_from_browser(widget: Widget, name: str) -> bool:
    """Whether a browser may set trait `name`: any synced trait but the widget's code and
    identity. Private synced traits are how widgets talk back (Plotly's `FigureWidget` sends
    `_js2py_restyle`, ipywidgets counts views in `_view_count`); a trait that is not synced
    (`comm`, `keys`) is never settable."""
    return name in widget.keys and name not in _FIXED and not name.startswith("_anywidget")


def widget_by_id(model_id: str) -> Widget | None:
    """The live widget with this model (comm) id, in any session, or None."""
    return _instances.get(model_id)


def with_buffers(state: dict[str, Any], paths: Any, buffers: Sequence[Any] | None
                 ) -> dict[str, Any]:
    """`state` from a comm message with its binary buffers put back at `paths`.

    A state without buffers comes back as is; one with buffers is copied first, because the
    comm's message may be handed to several pages."""
    if not buffers:
        return state
    state = dict(state)
    _put_buffers(state, paths, buffers)
    return state


def message_handlers(widget: Widget) -> list[MessageHandler]:
    """The widget's `on_msg` handlers, so each can be called (and fail) on its own."""
    return list(widget._msg_callbacks.callbacks)  # noqa: SLF001


def from_json(widget: Widget, name: str) -> Callable[[Any, Widget], Any]:
    """How the trait `name` turns a JSON value into a Python one (ipywidgets' default, or
    the trait's own `from_json`)."""
    default = widget._trait_from_json  # noqa: SLF001
    converter: Callable[[Any, Widget], Any] = widget.trait_metadata(name, "from_json", default)
    return converter


def validated(widget: Widget, name: str, value: Any) -> Any:
    """The Python value trait `name` would hold for the JSON `value`, checked as a value from
    the browser is (the widget's own validators too); raises when the trait refuses it.
    Nothing is assigned and no observer runs."""
    return widget.traits()[name]._validate(widget, from_json(widget, name)(value, widget))  # noqa: SLF001


def invalid_value(widget: Widget, state: dict[str, Any]) -> str | None:
    """Why a trait would refuse a JSON value (from a browser or an agent), or None when every
    value in `state` is acceptable. Nothing is assigned and no observer runs."""
    for name, value in state.items():
        try:
            validated(widget, name, value)
        except Exception:  # noqa: BLE001 - a converter failing is a refused value too
            # Named, never echoed: traitlets' own message repeats the whole value.
            return f"{name}: not a valid value (expected {_info(widget.traits()[name])})"
    return None


def _info(trait: Any) -> str:
    """What a trait accepts, in words, with its bounds: never the refused value."""
    try:
        text = str(trait.info())[:120]
    except Exception:  # noqa: BLE001 - a trait's description is a courtesy
        text = type(trait).__name__
    low, high = getattr(trait, "min", None), getattr(trait, "max", None)
    if isinstance(low, int | float):
        text += f", at least {low}"
    if isinstance(high, int | float):
        text += f", at most {high}"
    return text


def set_from_browser(widget: Widget, state: dict[str, Any]) -> None:
    """Apply a browser's (validated) update as `widget.set_state(state)` does: each value
    through its `from_json` and validation, under the property lock that keeps the value from
    being sent back, observers fired as each trait changes.

    Two costs of `set_state` are left out, each a sixth of the time a click takes on the
    server: the echo message it builds for Jupyter (the session drops echoes), and, for one
    trait, `hold_trait_notifications`, which only matters when several traits change together
    (cross-validation and rollback at the end). A class that overrides `set_state` gets its
    own."""
    if type(widget).set_state is not Widget.set_state:
        widget.set_state(state)
        return
    with widget._lock_property(**state):  # noqa: SLF001
        if len(state) == 1:
            for name, value in state.items():
                widget.set_trait(name, from_json(widget, name)(value, widget))
            return
        with widget.hold_trait_notifications():
            for name, value in state.items():
                widget.set_trait(name, from_json(widget, name)(value, widget))


def set_quietly(widget: Widget, name: str, value: Any) -> bool:
    """Put a JSON value into trait `name` through its validation but without firing its
    observers; False when the trait refuses it (a carried value the new code no longer fits)."""
    try:
        valid = widget.traits()[name].validate(widget, from_json(widget, name)(value, widget))
    except Exception:  # noqa: BLE001 - the new code may have changed the trait
        return False
    widget._trait_values[name] = valid  # noqa: SLF001
    return True


# --- one subclass per widget class, not per widget ---------------------------------------------

_SUBCLASSES = "_numerous_trait_subclasses"
_add_traits = HasTraits.add_traits


def _add_traits_once(self: HasTraits, **traits: Any) -> None:
    """`HasTraits.add_traits` for anywidget's instances, with the subclass it makes shared.

    anywidget gives every instance its `_esm`, `_css` and `_anywidget_id` as traits added at
    `__init__`, and traitlets adds traits by making a new class for that one instance: a class
    per widget, with its own copies of every trait table (about 11 KiB each, in reference
    cycles only a full collection frees). Instances of one class given the same traits (same
    kinds, defaults and metadata) now share one such subclass; a class whose code changes (a
    hot-reloaded file) gets another. The cache lives on the class, so it goes with it."""
    base = type(self)
    key = tuple(sorted((name, type(trait), trait.default_value,
                        tuple(sorted(trait.metadata.items())))
                       for name, trait in traits.items()))
    try:
        hash(key)
    except TypeError:  # a default or metadata that cannot be a key: traitlets' own way
        _add_traits(self, **traits)
        return
    cache: dict[Any, type] | None = base.__dict__.get(_SUBCLASSES)
    shared = cache.get(key) if cache is not None else None
    if shared is None:
        _add_traits(self, **traits)
        if cache is None:
            cache = {}
            type.__setattr__(base, _SUBCLASSES, cache)
        cache[key] = type(self)
        return
    self.__class__ = shared
    for name in traits:
        shared.__dict__[name].instance_init(self)


def share_trait_subclasses() -> None:
    """Make anywidget instances of one class share the subclass traitlets makes for their
    added traits (idempotent). Values hashed for the key are strings that widgets of a class
    share, so a lookup is a dict probe."""
    anywidget.AnyWidget.add_traits = _add_traits_once


_separate_all_buffers = ipywidgets_widget._remove_buffers
_BINARY = (bytes, bytearray, memoryview)
_SCALARS = frozenset((str, int, float, bool, type(None)))


def _remove_buffers(state: Any) -> tuple[Any, list[Any], list[Any]]:
    """ipywidgets' `_remove_buffers` (a state's binary values taken out, with their paths),
    with a cheaper look first: most states hold no binary, and ipywidgets finds that out with
    a Python call per dict and list, about 20 ms for a chart of ten thousand points on every
    update. Here one loop over the values says so in a fraction of that; a state that does
    hold binary values goes through ipywidgets' own code."""
    if isinstance(state, dict | list | tuple) and not _holds_binary(state):
        return state, [], []
    return _separate_all_buffers(state)


def _holds_binary(value: Any) -> bool:
    stack = [value]
    pop, push = stack.pop, stack.extend
    scalars = _SCALARS
    while stack:
        item = pop()
        if type(item) in scalars:
            continue
        if isinstance(item, dict):
            push(item.values())
        elif isinstance(item, list | tuple):
            push(item)
        elif isinstance(item, _BINARY):
            return True
    return False


def skip_buffer_walks() -> None:
    """Use `_remove_buffers` above wherever ipywidgets sends a state (idempotent)."""
    ipywidgets_widget._remove_buffers = _remove_buffers
