"""The bootstrap app, created by the CLI and used in Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from .conftest import wait_ready

BOOTSTRAP = str(Path(sys.executable).parent / "numerous-bootstrap")


def test_bootstrapped_app_works_in_the_browser(tmp_path: Path, serve: Any, page: Page) -> None:
    subprocess.run([BOOTSTRAP, "my_app", "--skip-deps", "--run-skip"], cwd=tmp_path, check=True)
    server = serve(tmp_path / "my_app")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url)
    wait_ready(page)
    page.locator("#button button").click()
    expect(page.locator("#counter input")).to_have_value("1")
    page.locator("#name input").fill("Ada")
    expect(page.locator("#greeting input")).to_have_value("Hello, Ada!")
    expect(page.locator("#total input")).to_have_value("3 × Apples = 3.60")
    page.locator("#quantity input").fill("5")
    expect(page.locator("#total input")).to_have_value("5 × Apples = 6.00")
    expect(page.locator("#basket")).to_contain_text("6.00")
    assert errors == []
    assert "WARNING" not in server.output()
