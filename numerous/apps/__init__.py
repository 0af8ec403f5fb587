"""Numerous Apps: reactive web apps in plain Python.

An app is a `run_app()` function that builds anywidget widgets and returns them by name, and a
Jinja2 template that places them with `{{ name }}`. `create_app()` turns the two into a FastAPI
application in which every browser session gets its own widgets on its own thread.
"""

from __future__ import annotations

from ._app import NumerousApp, create_app
from ._cache import CachedFunction, MemoryBackend, cache
from ._files import UploadedFile, download, on_upload
from ._multi import combine_apps
from ._pages import Page, PageContext, PageNotFound, current_page
from ._redis_cache import RedisBackend
from ._redis_store import RedisStore
from ._security import SecurityPolicy
from ._session import current_session, current_user
from ._sessions import SessionLimits
from ._tasks import (
    Task,
    TaskCancelled,
    TaskPool,
    TaskRefused,
    configure_tasks,
    start_task,
    task,
)
from ._timers import Timer, after, every
from ._urlstate import bind_query
from ._writes import SharedWrites
from .agent import action
from .widgets import Upload

__all__ = [
    "CachedFunction", "MemoryBackend", "NumerousApp", "Page", "PageContext", "PageNotFound",
    "RedisBackend", "RedisStore", "SecurityPolicy", "SessionLimits", "SharedWrites", "Task", "TaskCancelled",
    "TaskPool", "TaskRefused", "Timer", "Upload", "UploadedFile", "action", "after",
    "bind_query", "cache", "combine_apps", "configure_tasks", "create_app", "current_page",
    "current_session", "current_user", "download", "every", "on_upload", "start_task", "task",
]
