"""Load an app from its file and serve it with uvicorn: the shared core of the commands."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import click
import uvicorn
from fastapi import FastAPI


def load_app(path: Path, attribute: str | None = None) -> FastAPI:
    """Import `path` as a module and return its app (the `app` attribute, or the only
    FastAPI application defined at module level)."""
    path = path.resolve()
    if not path.is_file():
        raise click.ClickException(f"{path} does not exist")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise click.ClickException(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return find_app(module, path, attribute)


def find_app(module: Any, path: Path, attribute: str | None) -> FastAPI:
    if attribute:
        app = getattr(module, attribute, None)
        if not isinstance(app, FastAPI):
            raise click.ClickException(f"{path.name} has no FastAPI app named {attribute!r}")
        return app
    app = getattr(module, "app", None)
    if isinstance(app, FastAPI):
        return app
    found = [v for v in vars(module).values() if isinstance(v, FastAPI)]
    if len(found) != 1:
        raise click.ClickException(
            f"{path.name}: expected one app made with create_app(); name it `app` "
            "or pass --app NAME")
    return found[0]


def serve(app: Any, host: str, port: int, **options: Any) -> None:
    uvicorn.run(app, host=host, port=port, **options)
