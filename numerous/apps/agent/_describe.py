"""What the agent API shows of a session: its widgets, their public traits and its actions.

Everything here runs on the session's thread (values are read where the widgets live).

A trait is published when the browser could set it too: it is synced and its name does not
start with `_`. Two kinds of synced traits are left out because they are not the widget's own
data: those ipywidgets' `DOMWidget` base defines (`layout`, `tabbable`, `tooltip`) and
references to other widgets (their values are model ids, meaningless outside a page).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import traitlets
from fastapi.encoders import jsonable_encoder
from ipywidgets import DOMWidget, Widget
from ipywidgets.widgets.widget import widget_serialization

from .._session import Session
from ._action import ActionSpec, session_actions, widget_actions

_BASE_TRAITS = DOMWidget.class_traits(sync=True)
_WIDGET_REFERENCE = widget_serialization["to_json"]


def published_traits(widget: Widget) -> dict[str, traitlets.TraitType[Any, Any]]:
    """The traits of `widget` a script may read and set, by name, in the widget's order."""
    traits = widget.traits()
    found: dict[str, traitlets.TraitType[Any, Any]] = {}
    for name in widget.keys:
        trait = traits.get(name)
        if name.startswith("_") or trait is None or name in found:
            continue
        if _BASE_TRAITS.get(name) is trait or trait.metadata.get("to_json") is _WIDGET_REFERENCE:
            continue
        found[name] = trait
    return found


def trait_value(widget: Widget, name: str) -> Any:
    """The trait's value as the browser would get it (its `to_json`), made JSON-safe."""
    return to_json(widget.get_state(name)[name])


def to_json(value: Any) -> Any:
    """A value JSON can carry: binary as base64 text, NaN and infinities as null."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return to_json(jsonable_encoder(value))


# --- descriptions ---------------------------------------------------------------------------


def describe_session(session: Session) -> dict[str, Any]:
    return {
        "session": session.id,
        "widgets": {key: describe_widget(key, widget) for key, widget in session.widgets.items()},
        "actions": {name: describe_action(spec)
                    for name, spec in session_actions(session).items()},
    }


def describe_widget(key: str, widget: Widget) -> dict[str, Any]:
    return {
        "key": key,
        "type": type(widget).__name__,
        "doc": _own_doc(type(widget)),
        "traits": {name: describe_trait(widget, name, trait)
                   for name, trait in published_traits(widget).items()},
        "actions": {name: describe_action(spec)
                    for name, (_, spec) in widget_actions(widget).items()},
    }


def describe_trait(widget: Widget, name: str, trait: traitlets.TraitType[Any, Any]
                   ) -> dict[str, Any]:
    return {
        "type": type(trait).__name__,
        "schema": trait_schema(trait),
        "doc": trait.help or trait.info(),
        "read_only": bool(trait.read_only),
        "value": trait_value(widget, name),
    }


def describe_action(spec: ActionSpec) -> dict[str, Any]:
    try:
        parameters = spec.arguments.model_json_schema()
    except Exception:  # noqa: BLE001 - a parameter type without a JSON form: still callable
        parameters = {"type": "object"}
    return {"name": spec.name, "doc": spec.doc, "parameters": parameters,
            "returns": spec.returns}


def _own_doc(klass: type) -> str:
    """The docstring of the widget's own class (anywidget may subclass it on the fly); the
    ipywidgets and anywidget base classes' docstrings say nothing about this widget."""
    for base in klass.__mro__:
        if base.__module__.split(".")[0] in _FRAMEWORKS:
            break
        doc = base.__dict__.get("__doc__")
        if isinstance(doc, str) and doc.strip():
            return " ".join(doc.split())
    return ""


_FRAMEWORKS = {"anywidget", "ipywidgets", "traitlets", "builtins"}


# --- JSON Schema of a trait -----------------------------------------------------------------

_SIMPLE: list[tuple[type, dict[str, Any]]] = [
    (traitlets.Bool, {"type": "boolean"}),
    (traitlets.Int, {"type": "integer"}),
    (traitlets.Float, {"type": "number"}),
    (traitlets.Complex, {}),
    (traitlets.Unicode, {"type": "string"}),
    (traitlets.Bytes, {"type": "string", "contentEncoding": "base64"}),
    (traitlets.Dict, {"type": "object"}),
]


def trait_schema(trait: traitlets.TraitType[Any, Any]) -> dict[str, Any]:
    """A JSON Schema for the trait's JSON values: a guide for callers, the trait still decides."""
    schema = _base_schema(trait)
    for bound, key in (("min", "minimum"), ("max", "maximum")):
        value = getattr(trait, bound, None)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            schema[key] = value
    if trait.allow_none and schema:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


def _base_schema(trait: traitlets.TraitType[Any, Any]) -> dict[str, Any]:
    if isinstance(trait, traitlets.Enum | traitlets.CaselessStrEnum):
        return {"enum": [to_json(value) for value in trait.values or ()]}
    if isinstance(trait, traitlets.Union):
        return {"anyOf": [_base_schema(t) for t in trait.trait_types]}
    if isinstance(trait, traitlets.List | traitlets.Set | traitlets.Tuple):
        items = getattr(trait, "_trait", None)
        schema: dict[str, Any] = {"type": "array"}
        if isinstance(items, traitlets.TraitType):
            schema["items"] = trait_schema(items)
        return schema
    for kind, schema in _SIMPLE:
        if isinstance(trait, kind):
            return dict(schema)
    return {}
