"""Load an app from its file, exactly as `numerous run` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from numerous.cli._serve import load_app as _cli_load_app


def app_file(path: str | Path) -> Path:
    """`path` itself, or the `app.py` inside it when it is a folder."""
    path = Path(path)
    return path / "app.py" if path.is_dir() else path


def load_app(path: str | Path, attribute: str | None = None) -> Any:
    """Import `app.py` (or a folder's `app.py`) and return its app object.

    The folder goes on `sys.path` and the module is registered under its file's stem, as with
    `numerous run`; the app is the `app` attribute (or `attribute`), or the only one defined.
    """
    try:
        return _cli_load_app(app_file(path), attribute)
    except click.ClickException as exc:
        raise LookupError(exc.format_message()) from None
