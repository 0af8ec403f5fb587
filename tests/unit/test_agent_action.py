"""`@action` and what the agent API publishes about widgets: traits, their schemas, actions."""

from __future__ import annotations

import asyncio
import runpy
import textwrap
from pathlib import Path
from typing import Any, Literal

import anywidget
import pytest
import traitlets
from ipywidgets import Widget, widget_serialization

from numerous.apps import action, create_app
from numerous.apps.agent._action import MARK, _session_actions, session_actions, widget_actions
from numerous.apps.agent._describe import describe_widget, published_traits, to_json, trait_schema

from ._agent_support import API, TestClient



class Base(anywidget.AnyWidget):
    _esm = "export default {}"
    value = traitlets.Int(0).tag(sync=True)

    @action
    def bump(self) -> int:
        """Bump it."""
        self.value += 1
        return self.value

    @action
    def keep(self) -> None:
        """Stays an action in subclasses."""


class Child(Base):
    def bump(self) -> int:  # overridden without @action: no longer an action
        return 0

    @action(name="renamed")
    def other(self, a: int, /, b: str = "x", *, c: float = 1.5) -> str:
        return f"{a}{b}{c}"


# --- the decorator ------------------------------------------------------------------------------


def test_action_returns_the_function_itself_marked() -> None:
    def plain(x: int) -> int:
        return x + 1

    assert action(plain) is plain and plain(1) == 2
    spec = getattr(plain, MARK)
    assert spec.name == "plain" and spec.is_method is False


def test_methods_are_told_from_functions_by_where_they_are_defined() -> None:
    assert getattr(Base.bump, MARK).is_method

    def run_app() -> Any:
        class Local(anywidget.AnyWidget):
            @action
            def method(self) -> None:
                """A method of a class local to run_app."""

        @action
        def function() -> None:
            """A function of run_app."""

        return Local, function

    local, function = run_app()
    assert getattr(local.method, MARK).is_method
    assert not getattr(function, MARK).is_method


@pytest.mark.parametrize("source, message", [
    ("async def f(): pass", "make it a plain (not async) function"),
    ("def f(*args): pass", "*args and **kwargs cannot be published"),
    ("def f(**kwargs): pass", "*args and **kwargs cannot be published"),
    ("def f(_hidden=1): pass", "parameter '_hidden' starts with '_'"),
])
def test_functions_that_cannot_be_published_are_refused_when_marked(source: str,
                                                                    message: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102
    with pytest.raises(TypeError, match=message.replace("*", r"\*").replace("(", r"\(")
                       .replace(")", r"\)")):
        action(namespace["f"])
    with pytest.raises(TypeError, match="marks functions and methods"):
        action(42)  # type: ignore[call-overload]


def test_parameters_become_a_json_schema_and_validate_calls() -> None:
    spec = getattr(Child.other, MARK)
    schema = spec.arguments.model_json_schema()
    assert schema["required"] == ["a"]
    assert schema["properties"]["a"]["type"] == "integer"
    assert schema["properties"]["b"] == {"default": "x", "title": "B", "type": "string"}
    assert schema["properties"]["c"]["default"] == 1.5
    assert schema["additionalProperties"] is False
    args, kwargs = spec.bind(spec.arguments.model_validate({"a": "3", "c": 2}))
    assert (args, kwargs) == ([3], {"b": "x", "c": 2.0})
    assert Child().other(*args, **kwargs) == "3x2.0"
    assert spec.returns == {"type": "string"}


def test_parameters_may_have_any_public_name() -> None:
    @action
    def f(json: int, schema: str = "s", model_config: bool = False) -> str:
        return f"{json}{schema}{model_config}"

    spec = getattr(f, MARK)
    assert list(spec.arguments.model_json_schema()["properties"]) == ["json", "schema",
                                                                      "model_config"]
    args, kwargs = spec.bind(spec.arguments.model_validate({"json": 1}))
    assert f(*args, **kwargs) == "1sFalse"


def test_annotations_are_resolved_and_unresolvable_ones_take_any_value() -> None:
    def run_app() -> Any:
        class Local:
            pass

        @action
        def f(choice: Literal["a", "b"], local: Local, count: int = 0) -> Local:
            return local

        return f

    f = run_app()
    f.__annotations__["local"] = "Local"  # as `from __future__ import annotations` leaves it
    spec = getattr(f, MARK)
    properties = spec.arguments.model_json_schema()["properties"]
    assert properties["choice"]["enum"] == ["a", "b"]
    assert properties["local"] == {"title": "Local"}
    assert properties["count"]["type"] == "integer"
    assert spec.returns is None


def test_widget_actions_follow_the_class_hierarchy() -> None:
    assert set(widget_actions(Base())) == {"bump", "keep"}
    child = widget_actions(Child())
    assert set(child) == {"keep", "renamed"}
    assert child["renamed"][0] == "other"


async def test_actions_defined_in_run_app_belong_to_that_session_only(make_session: Any
                                                                       ) -> None:
    def run_app() -> dict[str, Any]:
        widget = Base()

        @action
        def read() -> int:
            """Read the value."""
            return widget.value

        return {"widget": widget}

    first, _ = await make_session(run_app)
    second, _ = await make_session(run_app)
    assert list(session_actions(first)) == ["read"]
    assert session_actions(first)["read"].function is not session_actions(second)["read"].function
    first.close()
    await asyncio.to_thread(first.join, 3)
    await make_session(run_app)
    assert first not in list(_session_actions), "closed sessions are forgotten"


def test_actions_at_module_level_of_a_widgets_app_belong_to_each_session(
        tmp_path: Path, served: Any) -> None:
    """create_app(widgets=...) runs the module again on each session's thread."""
    (tmp_path / "index.html.j2").write_text("<main>{{ counter }}</main>")
    (tmp_path / "module_app.py").write_text(textwrap.dedent("""
        import anywidget, traitlets
        from numerous.apps import action, create_app

        class Counter(anywidget.AnyWidget):
            _esm = "export default {}"
            value = traitlets.Int(0).tag(sync=True)

        counter = Counter()

        @action
        def double() -> int:
            \"\"\"Double the counter.\"\"\"
            counter.value = 2 * (counter.value or 1)
            return counter.value

        app = create_app(template="index.html.j2", widgets={"counter": counter},
                         agent_api=True)
    """))
    namespace = runpy.run_path(str(tmp_path / "module_app.py"), run_name="module_app")
    client: TestClient = served(namespace["app"])
    session = client.post(f"{API}/sessions", json={}).json()
    assert list(session["actions"]) == ["double"]
    result = client.post(f"{API}/sessions/{session['session']}/actions/double", json={})
    assert result.json()["result"] == 2


# --- traits -----------------------------------------------------------------------------------


class Rich(anywidget.AnyWidget):
    _esm = "export default {}"
    flag = traitlets.Bool(False).tag(sync=True)
    ratio = traitlets.Float(0.5, min=0.0, max=1.0).tag(sync=True)
    tags = traitlets.List(traitlets.Unicode(), default_value=["a"]).tag(sync=True)
    data = traitlets.Dict().tag(sync=True)
    maybe = traitlets.Int(None, allow_none=True).tag(sync=True)
    blob = traitlets.Bytes(b"\x00\x01").tag(sync=True)
    either = traitlets.Union([traitlets.Int(), traitlets.Unicode()], default_value=1).tag(
        sync=True)
    child = traitlets.Instance(Widget, allow_none=True).tag(sync=True, **widget_serialization)
    anything = traitlets.Any(None).tag(sync=True)


def test_published_traits_leave_out_private_base_and_reference_traits() -> None:
    widget = Rich()
    names = list(published_traits(widget))
    assert set(names) == {"flag", "ratio", "tags", "data", "maybe", "blob", "either",
                          "anything"}
    widget.close()


def test_trait_schemas_describe_the_json_values() -> None:
    traits = Rich.class_traits()
    assert trait_schema(traits["flag"]) == {"type": "boolean"}
    assert trait_schema(traits["ratio"]) == {"type": "number", "minimum": 0.0, "maximum": 1.0}
    assert trait_schema(traits["tags"]) == {"type": "array", "items": {"type": "string"}}
    assert trait_schema(traits["data"]) == {"type": "object"}
    assert trait_schema(traits["maybe"]) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert trait_schema(traits["either"]) == {"anyOf": [{"type": "integer"},
                                                        {"type": "string"}]}
    assert trait_schema(traits["anything"]) == {}


def test_values_are_made_json_safe() -> None:
    widget = Rich()
    described = describe_widget("rich", widget)
    assert described["traits"]["blob"]["value"] == "AAE="
    assert described["traits"]["tags"]["value"] == ["a"]
    assert to_json(float("nan")) is None and to_json((1, {2: b"\x01"})) == [1, {"2": "AQ=="}]
    assert to_json(Path("/x")) == "/x"
    widget.close()


def test_agent_api_off_means_no_routes_even_with_actions(tmp_path: Path, served: Any) -> None:
    (tmp_path / "index.html.j2").write_text("<main>{{ w }}</main>")
    app = create_app(template="index.html.j2", base_dir=tmp_path,
                     app_generator=lambda: {"w": Base()})
    client = served(app)
    assert client.get("/").status_code == 200
    assert client.post(f"{API}/sessions", json={}).status_code == 404
    assert client.get(f"{API}/openapi.json").status_code == 404
    assert client.post(f"{API}/mcp", json={}).status_code == 404
