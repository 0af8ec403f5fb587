"""End-to-end fixtures: real uvicorn servers on free 127.0.0.1 ports, Debian's Chromium.

The pieces live in `numerous.apps.testing`, the harness apps use too, and the tests import
them from there. This file loads the plugin's fixtures (also available through the `pytest11`
entry point once the package is installed with it) and adds `serve`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from numerous.apps.testing import Server, chromium_launch_args, start_server
from numerous.apps.testing.plugin import (  # noqa: F401 - fixtures, found by name
    numerous_driver,
    numerous_drivers,
    numerous_page,
    numerous_server,
)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Always the system Chromium here: the e2e suite runs where Playwright has none."""
    try:
        return chromium_launch_args()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def serve() -> Iterator[Any]:
    """`serve(app_dir, target="app:app", env=None, port=None)` starts a server, stopped after
    the test."""
    servers: list[Server] = []

    def _serve(app_dir: Path, target: str = "app:app", env: dict[str, str] | None = None,
               port: int | None = None) -> Server:
        server = start_server(app_dir, target, env, port=port)
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.stop()
