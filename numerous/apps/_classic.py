"""Classic Jupyter widgets: the bundled widget manager and the libraries' own front-end code.

ipywidgets' controls and layout boxes, and libraries written against `@jupyter-widgets/base`
(ipympl, bqplot, ipyleaflet), have no `_esm`: their models name a `_model_module` instead. The
browser draws them with a widget manager bundled at build time (`npm run build` writes
`numerous/js/vendor/`), and a library's code is the AMD nbextension its Python package installs
under `share/jupyter/nbextensions/<module>/index.js`. Both are served by content hash like any
widget code, and a page loads them only when it has such a widget.
"""

from __future__ import annotations

import logging
import os
import re
import site
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

from ._assets import ASSETS

logger = logging.getLogger("numerous.apps")

VENDOR_DIR = Path(__file__).resolve().parent.parent / "js" / "vendor"
BUNDLE = "jupyter-widgets"
BUILTIN_MODULES = frozenset({
    "@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output", "anywidget"})
"""Modules the bundle itself provides (and anywidget, which our own client draws)."""
_AMD_DEPS = re.compile(r"\bdefine\(\s*\[([^\]]*)\]")


class ClassicConfig(TypedDict):
    """The page config's `classic` entry: where the browser finds the code."""

    module: str
    style: str
    libraries: dict[str, str]


def is_classic(widget: Any) -> bool:
    """A widget drawn by the classic widget manager: no `_esm`, a model module of its own.

    ipywidgets' Layout and Style models (`@jupyter-widgets/base`) come with every widget,
    anywidgets included, so they alone do not make a page load the manager."""
    module = getattr(widget, "_model_module", None)
    return (not getattr(widget, "_esm", None) and isinstance(module, str) and bool(module)
            and module not in ("@jupyter-widgets/base", "anywidget"))


@cache
def bundle_names() -> tuple[str, str]:
    """The bundle's module and stylesheet in the asset store (read once per process)."""
    js = (VENDOR_DIR / f"{BUNDLE}.js").read_text(encoding="utf-8")
    css = (VENDOR_DIR / f"{BUNDLE}.css").read_text(encoding="utf-8")
    return ASSETS.register(js, "js"), ASSETS.register(css, "css")


def nbextension_dirs() -> list[Path]:
    """Where Python packages install their notebook extensions, most specific first."""
    roots = [Path(p) for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    roots += [Path(sys.prefix) / "share" / "jupyter", Path(site.getuserbase()) / "share" /
              "jupyter", Path("/usr/local/share/jupyter"), Path("/usr/share/jupyter")]
    return [root / "nbextensions" for root in dict.fromkeys(roots)]


@cache
def library_file(module: str) -> Path | None:
    """The installed nbextension of a widget module, or None when no package ships one."""
    if not module or "/" in module.lstrip("@").split("/", 1)[-1] or ".." in module:
        return None
    for folder in nbextension_dirs():
        path = folder / module / "index.js"
        if path.is_file():
            return path
    return None


@cache
def _library(module: str) -> tuple[str, tuple[str, ...]] | None:
    """A library's served file name and the modules it needs, or None (logged once)."""
    path = library_file(module)
    if path is None:
        logger.warning("the widget library %r has no front-end code this app can serve: "
                       "install its Python package in this environment (docs/widgets.md)",
                       module)
        return None
    text = path.read_text(encoding="utf-8")
    deps = _AMD_DEPS.search(text[:4096])
    needs = tuple(d.strip().strip("\"'") for d in deps.group(1).split(",")) if deps else ()
    return ASSETS.register(text, "js"), needs


def libraries(modules: Iterable[str]) -> dict[str, str]:
    """The asset file names of these widget modules' libraries and of the ones they need."""
    found: dict[str, str] = {}
    todo = [m for m in modules if m not in BUILTIN_MODULES]
    while todo:
        module = todo.pop()
        if module in found or module in BUILTIN_MODULES or module in ("module", "exports"):
            continue
        library = _library(module)
        if library is not None:
            found[module] = library[0]
            todo.extend(library[1])
    return found


def classic_config(assets_url: str, widgets: Iterable[Any]) -> ClassicConfig:
    """The page config's `classic` entry for a session's widgets (`assets_url` ends in `/`)."""
    module, style = bundle_names()
    modules = {getattr(w, "_model_module", "") for w in widgets if is_classic(w)}
    modules |= {getattr(w, "_view_module", "") for w in widgets if is_classic(w)}
    return {"module": assets_url + module, "style": assets_url + style,
            "libraries": {name: assets_url + file
                          for name, file in libraries(sorted(m for m in modules if m)).items()}}
