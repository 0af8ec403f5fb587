"""The adapter over ipywidgets' private parts: what sessions need from it, and that nothing
else reaches for those parts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from ipywidgets.widgets import widget as ipywidgets_widget

from numerous.apps import _widgets
from numerous.apps._widgets import (
    from_json,
    invalid_value,
    message_handlers,
    set_quietly,
    share_trait_subclasses,
    settable_from_browser,
    skip_buffer_walks,
    widget_by_id,
    with_buffers,
)

PACKAGE = Path(__file__).parents[2] / "numerous"
PRIVATE = re.compile(r"\b(_instances|_put_buffers|_remove_buffers|_msg_callbacks|"
                     r"_trait_from_json|_trait_values)\b|\._validate\(")


class Counter(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)


def test_no_module_but_the_adapter_touches_ipywidgets_private_parts() -> None:
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if path.name != "_widgets.py" and PRIVATE.search(path.read_text("utf-8"))]
    assert offenders == []


def test_a_widget_is_found_by_its_model_id_while_it_lives() -> None:
    widget = Counter()
    model_id = widget.model_id
    assert widget_by_id(model_id) is widget
    widget.close()
    assert widget_by_id(model_id) is None
    assert widget_by_id("nobody") is None


def test_invalid_value_names_the_problem_and_assigns_nothing() -> None:
    widget = Counter(value=1)
    seen: list[Any] = []
    widget.observe(seen.append, "value")
    assert invalid_value(widget, {"value": 5}) is None
    problem = invalid_value(widget, {"value": "five"})
    assert problem is not None and "value" in problem
    assert widget.value == 1 and seen == []
    assert from_json(widget, "value")(3, widget) == 3
    widget.close()


def test_set_quietly_validates_without_firing_observers() -> None:
    widget = Counter()
    seen: list[Any] = []
    widget.observe(seen.append, "value")
    assert set_quietly(widget, "value", 4) and widget.value == 4
    assert not set_quietly(widget, "value", "four") and widget.value == 4
    assert seen == []
    widget.close()


def test_handlers_and_buffers() -> None:
    widget = Counter()
    handler = lambda w, content, buffers: None
    widget.on_msg(handler)
    assert message_handlers(widget) == [handler]
    state = {"a": None, "b": [None]}
    filled = with_buffers(state, [["a"], ["b", 0]], [b"1", b"2"])
    assert filled == {"a": b"1", "b": [b"2"]}
    assert state["a"] is None, "the comm's own state is not changed at its top"
    assert with_buffers(state, [], []) is state
    widget.close()


def test_the_browser_may_set_synced_traits_but_not_code_or_identity() -> None:
    class Talker(Counter):
        _js2py_restyle = traitlets.Dict(allow_none=True).tag(sync=True)
        _server_only = traitlets.Unicode("")

    widget = Talker()
    assert settable_from_browser(widget, "value")
    assert settable_from_browser(widget, "_js2py_restyle")
    for name in ["_esm", "_css", "_model_name", "_model_module", "_view_name",
                 "_view_module_version", "_anywidget_id", "_server_only", "comm", "nope"]:
        assert not settable_from_browser(widget, name), name


def test_widgets_of_one_class_share_the_subclass_their_added_traits_make() -> None:
    """anywidget adds `_esm`, `_css` and its id as traits of each instance, which traitlets
    does by making a class per instance; widgets of one class now share one."""
    share_trait_subclasses()
    first, second = Counter(), Counter(value=3)
    assert type(first) is type(second) and type(first) is not Counter
    assert isinstance(first, Counter)
    assert (first.value, second.value) == (0, 3), "values stay per instance"
    second.value = 5
    assert first.value == 0
    assert first._esm == second._esm == Counter._esm  # noqa: SLF001
    seen: list[int] = []
    first.observe(lambda change: seen.append(change["new"]), "value")
    second.value = 6
    first.value = 1
    assert seen == [1], "observers stay per instance"


def test_a_class_whose_code_differs_gets_its_own_subclass() -> None:
    share_trait_subclasses()

    class Other(anywidget.AnyWidget):
        _esm = "export default { render() { /* other */ } }"
        value = traitlets.Int(0).tag(sync=True)

    assert type(Other()) is type(Other()) and type(Other()) is not type(Counter())
    assert Other()._esm != Counter()._esm  # noqa: SLF001


def test_a_state_without_binary_values_is_sent_as_it_is_and_one_with_them_as_ipywidgets_would(
        ) -> None:


    skip_buffer_walks()
    assert ipywidgets_widget._remove_buffers is _widgets._remove_buffers
    ipywidgets_own = _widgets._separate_all_buffers
    plain = {"data": {"datasets": [{"data": [{"x": i, "y": -i} for i in range(100)]}]},
             "t": (1, "a", None, 2.5, True)}
    assert _widgets._remove_buffers(plain) == (plain, [], [])
    assert _widgets._remove_buffers(plain)[0] is plain
    binary = [
        {"a": [1, {"b": memoryview(b"xy")}], "c": "s"},
        {"x": b"raw", "y": [bytearray(b"z"), (1, b"t")], "z": {"deep": {"n": 1}}},
        [0, [b"in a list"]],
    ]
    for state in binary:
        assert _widgets._remove_buffers(state) == ipywidgets_own(state)
    widget = Counter()
    try:  # the widget's own messages go through it
        sent: list[Any] = []
        widget._send = lambda msg, buffers=None: sent.append((msg, buffers))  # type: ignore
        widget.value = 3
        assert sent == [({"method": "update", "state": {"value": 3}, "buffer_paths": []}, [])]
    finally:
        widget.close()
