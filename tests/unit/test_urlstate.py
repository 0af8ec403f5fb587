"""URL state: traits bound to query parameters start from the page's URL, validated."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anywidget
import pytest
import traitlets

from numerous.apps import bind_query, create_app
from numerous.apps._urlstate import _INVALID, query_value

from ._support import config_of


class Filter(anywidget.AnyWidget):
    _esm = "export default {}"
    fruit = traitlets.Enum(["Apples", "Plums", "Pears"], "Apples").tag(sync=True)
    qty = traitlets.Int(1, min=0, max=100).tag(sync=True)
    fresh = traitlets.Bool(False).tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)


def run_app() -> dict[str, Any]:
    view = Filter()

    def summarize(_: Any = None) -> None:
        view.summary = f"{view.qty} {view.fruit} fresh={view.fresh}"

    view.observe(summarize, names=["fruit", "qty", "fresh"])
    summarize()
    bind_query(view, "fruit", "fruit")
    bind_query(view, "qty", "qty", history="push")
    bind_query(view, "fresh", "fresh")
    return {"view": view}


def make_app(tmp_path: Path) -> Any:
    (tmp_path / "index.html.j2").write_text("<main>{{ view }}</main>")
    return create_app(template="index.html.j2", base_dir=tmp_path, app_generator=run_app)


def view_of(app: Any, html: str) -> Filter:
    session_id = config_of(html)["session"]
    session = next(s for s in app.numerous.sessions if s.id == session_id)
    return session.widgets["view"]  # type: ignore[no-any-return]


def test_the_session_starts_with_the_urls_values_and_observers_see_them(
        tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    html = served(app).get("/?fruit=Plums&qty=5&fresh=true").text
    view = view_of(app, html)
    assert (view.fruit, view.qty, view.fresh) == ("Plums", 5, True)
    assert view.summary == "5 Plums fresh=True"
    assert config_of(html)["query"] == [
        {"id": view.model_id, "trait": "fruit", "param": "fruit", "history": "replace"},
        {"id": view.model_id, "trait": "qty", "param": "qty", "history": "push"},
        {"id": view.model_id, "trait": "fresh", "param": "fresh", "history": "replace"}]


def test_a_bad_value_is_ignored_with_a_log_line(tmp_path: Path, served: Any,
                                                caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(tmp_path)
    with caplog.at_level(logging.WARNING, logger="numerous.apps"):
        response = served(app).get("/?fruit=Bananas&qty=500&fresh=maybe")
    assert response.status_code == 200
    view = view_of(app, response.text)
    assert (view.fruit, view.qty, view.fresh) == ("Apples", 1, False)
    logged = [r.getMessage() for r in caplog.records if "query parameter" in r.getMessage()]
    assert len(logged) == 3 and "fruit='Bananas'" in logged[0]


def test_without_query_parameters_the_apps_values_stay(tmp_path: Path, served: Any) -> None:
    app = make_app(tmp_path)
    view = view_of(app, served(app).get("/").text)
    assert (view.fruit, view.qty, view.summary) == ("Apples", 1, "1 Apples fresh=False")


def test_query_strings_are_read_as_the_trait_expects() -> None:
    view = Filter()
    assert query_value(view, "fruit", "Pears") == "Pears"
    assert query_value(view, "qty", "42") == 42
    assert query_value(view, "qty", "4.5") is _INVALID
    assert query_value(view, "fresh", "false") is False
    assert query_value(view, "summary", "5") == "5", "text stays text"
    view.close()


def test_bindings_name_a_synced_trait_and_a_known_history(tmp_path: Path) -> None:
    view = Filter()
    with pytest.raises(ValueError, match="no synced trait"):
        bind_query(view, "nope", "x")
    with pytest.raises(ValueError, match="replace"):
        bind_query(view, "qty", "x", history="jump")  # type: ignore[arg-type]
    bind_query(view, "qty", "qty")  # outside a page load: nothing to bind to, no error
    view.close()


class Even(anywidget.AnyWidget):
    _esm = "export default {}"
    value = traitlets.Int(0).tag(sync=True)

    @traitlets.validate("value")
    def _even(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] % 2:
            raise traitlets.TraitError("odd")
        return int(proposal["value"])


def test_the_widgets_own_validator_is_asked_too() -> None:
    widget = Even()
    assert query_value(widget, "value", "4") == 4
    assert query_value(widget, "value", "3") is _INVALID
    widget.close()
