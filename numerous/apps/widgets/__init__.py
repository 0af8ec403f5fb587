"""Widgets that come with Numerous Apps."""

from __future__ import annotations

from ._upload import Upload

__all__ = ["Upload"]
