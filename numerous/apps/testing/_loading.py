"""Load an app from its file, exactly as `numerous run` does (numerous.apps.serving)."""

from __future__ import annotations

from numerous.apps.serving import AppNotFound, app_file, load_app

__all__ = ["AppNotFound", "app_file", "load_app"]
