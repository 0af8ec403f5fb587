"""A pytest plugin module, registered by `plugin.py` after every installed plugin, so that its
`browser_type_launch_args` wraps pytest-playwright's (a project's conftest still overrides it).

Playwright's own Chromium is used when it is installed; otherwise the system one (Debian's
`chromium`); `NUMEROUS_CHROMIUM` always wins. Another browser (`--browser firefox`), a channel
or an explicit executable are left alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ._browser import chromium_launch_args, chromium_path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_name: str | None,
                             request: pytest.FixtureRequest) -> dict[str, Any]:
    options = dict(browser_type_launch_args)
    if browser_name not in (None, "chromium") or "channel" in options or \
            "executable_path" in options:
        return options
    if not os.environ.get("NUMEROUS_CHROMIUM") and (
            chromium_path() is None or _playwright_has_chromium(request)):
        return options
    system = chromium_launch_args()
    if options.get("headless") is False:  # --headed
        system["headless"] = False
        system["args"] = [arg for arg in system["args"] if arg != "--headless"]
    return {**options, **system}


def _playwright_has_chromium(request: pytest.FixtureRequest) -> bool:
    browser_type = request.getfixturevalue("browser_type")
    return Path(browser_type.executable_path).exists()
