"""`@action`: the functions and widget methods a script or an agent may call.

An action is marked, never discovered: a widget method without `@action` cannot be called from
outside, whatever its name. Marking records the signature and the docstring, which the agent
API publishes as the action's parameters (a JSON Schema built by pydantic) and description.

Two kinds, told apart by where the function is defined:

- a method in a class body (`class Thermostat(AnyWidget): @action def boost(self, ...)`) is an
  action of every widget of that class;
- a function defined inside `run_app()` (or at module level of an app run with
  `create_app(widgets=...)`, which runs on the session thread too) is an action of the session
  that defined it, usually a closure over that session's widgets.
"""

from __future__ import annotations

import inspect
import typing
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import pydantic
from ipywidgets import Widget

from .._session import Session, current_session

F = TypeVar("F", bound=Callable[..., Any])

MARK = "__numerous_action__"
_FIELD = "p_"


@dataclass
class ActionSpec:
    """What `@action` recorded about a function."""

    name: str
    function: Callable[..., Any]
    doc: str
    is_method: bool
    _arguments: type[pydantic.BaseModel] | None = field(default=None, repr=False)
    _returns: dict[str, Any] | None = field(default=None, repr=False)
    _built: bool = field(default=False, repr=False)

    @property
    def arguments(self) -> type[pydantic.BaseModel]:
        """A pydantic model of the parameters: it validates calls and gives the JSON Schema."""
        self._build()
        assert self._arguments is not None
        return self._arguments

    @property
    def returns(self) -> dict[str, Any] | None:
        """The JSON Schema of the return annotation, when it has one pydantic can express."""
        self._build()
        return self._returns

    def _build(self) -> None:
        # Lazily: annotations may name classes defined after the function (forward references).
        if self._built:
            return
        hints = _type_hints(self.function)
        fields: dict[str, Any] = {}
        for parameter in _parameters(self.function, self.is_method):
            annotation = hints.get(parameter.name, Any)
            default = ... if parameter.default is inspect.Parameter.empty else parameter.default
            # Aliased: a parameter may be called `json` or `schema` without clashing with
            # pydantic's own attributes; callers only ever see the parameter's name.
            fields[_FIELD + parameter.name] = (annotation, pydantic.Field(default,
                                                                         alias=parameter.name))
        self._arguments = pydantic.create_model(
            f"{self.name}_arguments", __config__=pydantic.ConfigDict(extra="forbid",
                                                                      arbitrary_types_allowed=True),
            **fields)
        self._returns = _schema_of(hints.get("return", Any))
        self._built = True

    def bind(self, values: pydantic.BaseModel) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for the function from validated values."""
        args, kwargs = [], {}
        for parameter in _parameters(self.function, self.is_method):
            value = getattr(values, _FIELD + parameter.name)
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                args.append(value)
            else:
                kwargs[parameter.name] = value
        return args, kwargs


@overload
def action(function: F, /) -> F: ...


@overload
def action(*, name: str | None = None) -> Callable[[F], F]: ...


def action(function: Callable[..., Any] | None = None, /, *,
           name: str | None = None) -> Any:
    """Let scripts and agents call this function through the app's agent API.

    The function's parameters (with their annotations and defaults) and its docstring are
    published; calls are validated against them and run on the session's thread, like a
    callback. The function itself is returned unchanged.

    On a widget method, every widget of the class gets the action::

        class Thermostat(anywidget.AnyWidget):
            target = traitlets.Float(20.0).tag(sync=True)

            @action
            def boost(self, degrees: float = 2.0) -> float:
                \"\"\"Raise the target temperature; returns the new target.\"\"\"
                self.target += degrees
                return self.target

    Inside `run_app()`, the session that runs it gets the action::

        def run_app():
            a, b = wi.Number(default=1), wi.Number(default=2)

            @action
            def total() -> float:
                \"\"\"The sum of a and b.\"\"\"
                return a.value + b.value

            return {"a": a, "b": b}

    `@action(name="other_name")` publishes it under another name.
    """
    if function is None:
        return lambda fn: _mark(fn, name)
    return _mark(function, name)


def _mark(function: F, name: str | None) -> F:
    if not callable(function) or not hasattr(function, "__qualname__"):
        raise TypeError(f"@action marks functions and methods, not {type(function).__name__}")
    if inspect.iscoroutinefunction(function):
        raise TypeError(f"@action {function.__qualname__}: actions run on the session's thread; "
                        "make it a plain (not async) function")
    spec = ActionSpec(name or function.__name__, function, inspect.getdoc(function) or "",
                      _is_method(function))
    for parameter in _parameters(function, spec.is_method):
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"@action {function.__qualname__}: *args and **kwargs cannot be "
                            "published; name every parameter")
        if parameter.name.startswith("_"):
            raise TypeError(f"@action {function.__qualname__}: parameter {parameter.name!r} "
                            "starts with '_'; published parameters need public names")
    setattr(function, MARK, spec)
    session = current_session()
    if session is not None and not spec.is_method:
        _register(session, spec)
    return function


def _is_method(function: Callable[..., Any]) -> bool:
    """Defined in a class body: its qualified name's parent is a class, not `<locals>`."""
    parts = function.__qualname__.split(".")
    return len(parts) > 1 and parts[-2] != "<locals>"


def _parameters(function: Callable[..., Any], is_method: bool) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(function).parameters.values())
    return parameters[1:] if is_method else parameters


def _type_hints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - a name that cannot be resolved: take the others one by one
        return {key: _resolve(value, function)
                for key, value in getattr(function, "__annotations__", {}).items()}


def _resolve(annotation: Any, function: Callable[..., Any]) -> Any:
    """One annotation, evaluated as `typing.get_type_hints` would; unresolvable ones (a class
    local to run_app(), say) are published as "any value"."""
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, getattr(function, "__globals__", {}))  # noqa: S307
    except Exception:  # noqa: BLE001
        return Any


def _schema_of(annotation: Any) -> dict[str, Any] | None:
    if annotation is Any or annotation is inspect.Parameter.empty:
        return None
    try:
        return pydantic.TypeAdapter(annotation).json_schema()
    except Exception:  # noqa: BLE001 - e.g. a widget class: no JSON form to publish
        return None


# --- which actions a widget or a session has ---------------------------------------------------

_session_actions: weakref.WeakKeyDictionary[Session, dict[str, ActionSpec]] = (
    weakref.WeakKeyDictionary())


def _register(session: Session, spec: ActionSpec) -> None:
    for stale in [s for s in list(_session_actions) if s.closed]:
        _session_actions.pop(stale, None)
    _session_actions.setdefault(session, {})[spec.name] = spec


def session_actions(session: Session) -> dict[str, ActionSpec]:
    """The actions defined by the session's own code (inside run_app() or its callbacks)."""
    return dict(_session_actions.get(session, {}))


def widget_actions(widget: Widget) -> dict[str, tuple[str, ActionSpec]]:
    """`{published name: (attribute, spec)}` for the marked methods of the widget's class."""
    found: dict[str, tuple[str, ActionSpec]] = {}
    by_attribute: dict[str, ActionSpec | None] = {}
    for klass in reversed(type(widget).__mro__):
        for attribute, value in vars(klass).items():
            # A subclass that overrides a marked method without @action unpublishes it.
            by_attribute[attribute] = getattr(value, MARK, None) if callable(value) else None
    for attribute, spec in by_attribute.items():
        if isinstance(spec, ActionSpec) and spec.is_method:
            found[spec.name] = (attribute, spec)
    return found
