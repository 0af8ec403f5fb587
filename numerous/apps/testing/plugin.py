"""The pytest plugin of numerous-apps: fixtures for testing apps in-process and in Chromium.

- `numerous_driver(app_or_path)`: an in-process `AppDriver`, shared by the tests of a run
  (start-up once); sessions a test opens are closed after it.
- `numerous_server(app_or_path, env=...)`: the app served on a free 127.0.0.1 port, stopped
  after the test; an app object in a thread (`server.sessions` is live), a path in a process.
- `numerous_page`: pytest-playwright's `page` as an `AppPage` (`open`, `widget`, `login`).

The system Chromium (Debian's `chromium`, or `NUMEROUS_CHROMIUM`) is used by pytest-playwright's
fixtures when Playwright has no Chromium of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from . import _chromium
from ._browser import AppPage
from ._loading import app_file
from ._server import Served, serve_app
from ._sync import AppDriver


def pytest_configure(config: pytest.Config) -> None:
    # Registered now, after every installed plugin, so its fixture wraps pytest-playwright's.
    if not config.pluginmanager.is_registered(_chromium):
        config.pluginmanager.register(_chromium, "numerous-apps-chromium")


@pytest.fixture(scope="session")
def numerous_drivers() -> Iterator[dict[Any, AppDriver]]:
    """The drivers of this test run, by app; each is closed when the run ends."""
    drivers: dict[Any, AppDriver] = {}
    yield drivers
    for driver in drivers.values():
        driver.close()


@pytest.fixture
def numerous_driver(numerous_drivers: dict[Any, AppDriver]
                    ) -> Iterator[Callable[..., AppDriver]]:
    """`numerous_driver(app_or_path, attribute=None, timeout=5.0) -> AppDriver`.

    An app object, an `app.py` or a folder holding one. The app starts once per test run; the
    sessions a test opens are ended after the test.
    """
    used: list[AppDriver] = []

    def get(app: Any, *, attribute: str | None = None, timeout: float = 5.0) -> AppDriver:
        key = (str(app_file(app).resolve()), attribute) if isinstance(app, str | Path) \
            else id(app)
        driver = numerous_drivers.get(key)
        if driver is None:
            driver = (AppDriver.from_file(app, attribute, timeout=timeout)
                      if isinstance(app, str | Path) else AppDriver(app, timeout=timeout))
            numerous_drivers[key] = driver.start()
        driver.inner.timeout = timeout
        used.append(driver)
        return driver

    yield get
    for driver in used:
        driver.close_sessions()


@pytest.fixture
def numerous_server() -> Iterator[Callable[..., Served]]:
    """`numerous_server(app_or_path, env=None, port=None, attribute="app") -> server`.

    `server.url` is where it answers; it is stopped after the test. Pass `env` for settings
    the app reads from the environment (e.g. `NUMEROUS_AUTH_USERS`).
    """
    servers: list[Served] = []

    def serve(target: Any, *, env: Mapping[str, str] | None = None, port: int | None = None,
              attribute: str = "app", timeout: float = 20.0) -> Served:
        server = serve_app(target, env=env, port=port, attribute=attribute, timeout=timeout)
        servers.append(server)
        return server

    yield serve
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def numerous_page(page: Any) -> AppPage:
    """pytest-playwright's `page`, with `open(server)`, `widget(key)`, `login(...)`, `errors`."""
    return AppPage(page)
