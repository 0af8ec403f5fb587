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

from ._driver import (
    AppPageError,
    AsyncAppDriver,
    AsyncAppSession,
    Message,
    UnknownWidget,
    WaitTimeout,
    WidgetView,
)
from ._loading import load_app
from ._sync import AppDriver, AppSession

__all__ = ["AppDriver", "AppPageError", "AppSession", "AsyncAppDriver", "AsyncAppSession",
           "Message", "UnknownWidget", "WaitTimeout", "WidgetView", "load_app"]
