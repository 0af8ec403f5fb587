"""Classic Jupyter widgets: which widgets need the bundled manager, where a library's code is
found, and what the page loads for them (only when it has such a widget)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import ipywidgets
import pandas as pd
import pytest
import traitlets

from numerous.apps import _classic
from numerous.apps._classic import classic_config, is_classic, libraries

from ._support import Counter, config_of, make_app


@pytest.fixture
def nbextensions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An nbextensions folder searched first (JUPYTER_PATH), with the lookups uncached."""
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    for cached in (_classic.library_file, _classic._library):
        cached.cache_clear()
    yield tmp_path / "nbextensions"
    for cached in (_classic.library_file, _classic._library):
        cached.cache_clear()


def _library(folder: Path, name: str, deps: list[str]) -> None:
    (folder / name).mkdir(parents=True)
    quoted = ",".join(f'"{d}"' for d in deps)
    (folder / name / "index.js").write_text(f"define([{quoted}],(a)=>({{}}));")


class Thing(ipywidgets.DOMWidget):
    _model_module = traitlets.Unicode("jupyter-thing").tag(sync=True)
    _view_module = traitlets.Unicode("jupyter-thing").tag(sync=True)


def test_classic_widgets_are_those_without_esm_and_a_module_of_their_own() -> None:
    assert is_classic(ipywidgets.IntSlider())
    assert is_classic(ipywidgets.Output())
    assert not is_classic(ipywidgets.Layout())  # every widget has one, anywidgets too
    assert not is_classic(Counter())


def test_a_library_and_the_libraries_it_needs_are_found(nbextensions: Path) -> None:
    _library(nbextensions, "jupyter-thing", ["@jupyter-widgets/base", "module", "thing-scales"])
    _library(nbextensions, "thing-scales", ["@jupyter-widgets/base"])
    found = libraries(["jupyter-thing", "@jupyter-widgets/controls"])
    assert set(found) == {"jupyter-thing", "thing-scales"}
    assert all(name.endswith(".js") and len(name) == 35 for name in found.values())


def test_a_library_without_code_is_logged_by_name_once(
        nbextensions: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "numerous.apps"):
        assert libraries(["jupyter-missing"]) == {}
        assert libraries(["jupyter-missing"]) == {}
    assert [r.getMessage().count("'jupyter-missing'") for r in caplog.records] == [1]


def test_module_names_cannot_leave_the_extensions_folder(nbextensions: Path) -> None:
    assert _classic.library_file("../../etc") is None
    assert _classic.library_file("a/b/c") is None


def test_the_config_names_the_bundle_and_the_page_libraries(nbextensions: Path) -> None:
    _library(nbextensions, "jupyter-thing", ["@jupyter-widgets/base"])
    config = classic_config("/numerous/assets/", [Thing(), ipywidgets.IntSlider()])
    assert config["module"].startswith("/numerous/assets/") and config["module"].endswith(".js")
    assert config["style"].endswith(".css")
    assert list(config["libraries"]) == ["jupyter-thing"]


def _page(tmp_path: Path, served: Any, widget: Any) -> tuple[str, dict[str, Any]]:
    app = make_app(tmp_path, app_generator=lambda: {"counter": widget()})
    html = served(app).get("/").text
    return html, config_of(html)


def test_a_page_with_a_classic_widget_preloads_the_bundle(tmp_path: Path, served: Any) -> None:
    html, config = _page(tmp_path, served, ipywidgets.IntSlider)
    assert f'<link rel="modulepreload" href="{config["classic"]["module"]}">' in html
    assert config["classic"]["module"] in config["modules"]
    assert config["classic"]["style"] in config["styles"]
    served_bundle = served(make_app(tmp_path / "b")).get(config["classic"]["module"])
    assert served_bundle.status_code == 200
    assert "createClassicManager" in served_bundle.text


def test_a_page_of_anywidgets_does_not_load_the_bundle(tmp_path: Path, served: Any) -> None:
    html, config = _page(tmp_path, served, Counter)
    assert config["classic"]["module"] not in html.replace(
        f'"module":"{config["classic"]["module"]}"', "")
    assert config["classic"]["module"] not in config["modules"]


def test_an_altair_chart_gets_its_cdn_origin_into_the_page_policy(tmp_path: Path,
                                                                  served: Any) -> None:
    chart = alt.Chart(pd.DataFrame({"a": [1, 2]})).mark_bar().encode(x="a")
    app = make_app(tmp_path, app_generator=lambda: {"counter": alt.JupyterChart(chart)})
    policy = served(app).get("/").headers["content-security-policy"]
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert "https://esm.sh" in script_src.split()
