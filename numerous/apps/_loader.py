"""Load an app from its file: the one loader behind `numerous run`, `numerous dev` and the test
driver, so that all three find the same app in the same file the same way."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from ._runtime import serving_mode


class AppNotFound(LookupError):
    """The file is missing, or it defines no app (or several, and none was named)."""


def app_file(path: str | Path) -> Path:
    """`path` itself, or the `app.py` inside it when it is a folder."""
    path = Path(path)
    return path / "app.py" if path.is_dir() else path


def load_app(path: str | Path, attribute: str | None = None, *, dev: bool | None = None) -> Any:
    """Import `path` (a file, or a folder's `app.py`) as a module and return its app.

    The folder goes on `sys.path` and the module is registered under its file's stem, so the
    app's own modules import as they would with `python app.py`. The app is the attribute
    named `attribute`, else `app`, else the only ASGI application the module defines. `dev`
    decides dev mode for every app the file creates (None: as each asks; see serving_mode).
    Errors raised by the file's own code propagate unchanged.
    """
    path = app_file(path).resolve()
    if not path.is_file():
        raise AppNotFound(f"{path} does not exist")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise AppNotFound(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    with serving_mode(dev):
        spec.loader.exec_module(module)
    return find_app(module, path.name, attribute)


def find_app(module: Any, name: str, attribute: str | None = None) -> Any:
    if attribute:
        app = getattr(module, attribute, None)
        if not isinstance(app, FastAPI):
            raise AppNotFound(f"{name} has no app named {attribute!r}")
        return app
    app = getattr(module, "app", None)
    if isinstance(app, FastAPI):
        return app
    found = [value for value in vars(module).values() if isinstance(value, FastAPI)]
    if len(found) != 1:
        raise AppNotFound(f"{name} defines no app: call create_app() and name the result "
                          "`app`, or pass --app NAME")
    return found[0]
