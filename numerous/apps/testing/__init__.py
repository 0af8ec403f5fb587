"""Testing Numerous apps: an in-process driver, served apps, and helpers for Chromium.

```python
from numerous.apps.testing import AppDriver

with AppDriver.from_file("app.py") as driver:
    s = driver.open_session()
    s.click("button")
    assert s["counter"].value == 1
```

The pytest plugin (`numerous.apps.testing.plugin`) adds the fixtures `numerous_driver`,
`numerous_server` and `numerous_page`. See docs/testing.md.
"""

from __future__ import annotations

from ._browser import (
    CHROMIUM_ARGS,
    AppPage,
    ErrorModal,
    LoginForm,
    SessionLostBanner,
    chromium_launch_args,
    chromium_path,
    login,
    wait_ready,
    widget_locator,
)
from ._driver import AsyncAppDriver
from ._lifespan import LifespanError
from ._loading import load_app
from ._page import AppPageError, AsyncAppSession, WaitTimeout
from ._server import (
    Served,
    Server,
    ThreadedServer,
    free_port,
    serve_app,
    served,
    spawn,
    start_redis,
    start_server,
    wait_until_serving,
)
from ._sync import AppDriver, AppSession
from ._view import Message, UnknownWidget, WidgetView

__all__ = [
    "CHROMIUM_ARGS", "AppDriver", "AppPage", "AppPageError", "AppSession", "AsyncAppDriver",
    "AsyncAppSession", "ErrorModal", "LifespanError", "LoginForm", "Message", "Served", "Server",
    "SessionLostBanner", "ThreadedServer",
    "UnknownWidget", "WaitTimeout", "WidgetView", "chromium_launch_args", "chromium_path",
    "free_port", "load_app", "login", "serve_app", "served", "spawn", "start_redis", "start_server",
    "wait_ready", "wait_until_serving", "widget_locator",
]
