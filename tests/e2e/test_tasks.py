"""Background tasks in Chromium: a task's error shows the error modal; the tasks example shows
progress, answers while it runs, and cancels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from numerous.apps.testing import wait_ready

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tasks"


def test_a_task_error_shows_the_error_modal(serve: Any, page: Page, tmp_path: Path) -> None:
    app_dir = tmp_path / "failing_task"
    app_dir.mkdir()
    (app_dir / "index.html.j2").write_text("{{ button }}")
    (app_dir / "app.py").write_text(
        "import numerous.widgets as wi\n"
        "from numerous.apps import create_app, start_task\n"
        "def crunch(task):\n"
        "    task.progress(0.5, 'halfway')\n"
        "    raise ValueError('the task broke at row 7')\n"
        "def run_app():\n"
        "    return {'button': wi.Button(label='Go', on_click=lambda e: start_task(crunch))}\n"
        "app = create_app(template='index.html.j2', dev=True, app_generator=run_app)\n")
    server = serve(app_dir)
    page.goto(server.url)
    wait_ready(page)
    page.locator("#button button").click()
    modal = page.locator("#numerous-error-modal")
    expect(modal).to_be_visible()
    expect(modal.locator("[data-numerous-error-message]")).to_contain_text(
        "ValueError: the task broke at row 7")
    expect(modal.locator("[data-numerous-error-traceback]")).to_contain_text("in crunch")
    modal.locator("[data-numerous-error-close]").click()
    expect(modal).to_be_hidden()


def test_the_example_shows_progress_and_cancels(serve: Any, page: Page) -> None:
    server = serve(EXAMPLE)
    page.goto(server.url)
    wait_ready(page)
    page.locator("#limit input").fill("50000000")
    page.locator("#limit input").press("Enter")
    page.locator("#start button").click()
    status = page.locator("#status").get_by_role("textbox")
    expect(status).to_have_value(re.compile("primes so far"))
    page.locator("#cancel button").click()
    expect(status).to_have_value("Cancelled.")
    page.locator("#limit input").fill("20000")
    page.locator("#limit input").press("Enter")
    page.locator("#start button").click()
    expect(status).to_have_value("2,262 primes below 20,000.")
