"""Playwright helpers: the system Chromium, a widget's element, the app's ready signal, login.

Playwright is only needed by the code that calls these; nothing here imports it.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import APIResponse, Locator, Page

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
READY = "document.documentElement.dataset.numerousReady === 'true'"
IGNORED_CONSOLE = ("fonts.googleapis.com", "fonts.gstatic.com")
"""Web fonts that widget stylesheets import: failing to load them offline is not an app error."""


def chromium_path() -> str | None:
    """`NUMEROUS_CHROMIUM`, or the `chromium` on PATH (Debian's package), or None."""
    return os.environ.get("NUMEROUS_CHROMIUM") or shutil.which("chromium")


def chromium_launch_args() -> dict[str, Any]:
    """Playwright launch options for the system Chromium, for `browser_type_launch_args`.

    Raises when there is none, saying how to get one.
    """
    path = chromium_path()
    if not path:
        raise RuntimeError("Chromium not found: install Debian's `chromium` package or set "
                           "NUMEROUS_CHROMIUM to a Chromium executable")
    return {"executable_path": path, "args": list(CHROMIUM_ARGS), "headless": True}


def base_url(target: Any) -> str:
    """A URL given as text, or the `url` of a served app."""
    return str(getattr(target, "url", target)).rstrip("/")


def wait_ready(page: Page, timeout: float = 15_000) -> None:
    """Wait until the client has rendered the app's widgets (`data-numerous-ready`).

    A locator assertion, not `wait_for_function`: Playwright polls a function by evaluating
    it in the page, which the app's Content-Security-Policy (no 'unsafe-eval') refuses.
    """
    from playwright.sync_api import expect  # optional dependency: only tests need it

    expect(page.locator("html")).to_have_attribute("data-numerous-ready", "true",
                                                   timeout=timeout)


def widget_locator(page: Page, key: str) -> Locator:
    """The mount point of widget `key`: `[data-numerous-widget="key"]`."""
    return page.locator(f'[data-numerous-widget="{key}"]')


def login(page: Page, target: Any, username: str, password: str,
          path: str = "/api/auth/login") -> APIResponse:
    """Sign in through the app's login endpoint with the page's cookies (its browser context).

    The session cookie the app sets lands in the context, so pages opened afterwards are
    that user's.
    """
    response = page.request.post(base_url(target) + path,
                                 data={"username": username, "password": password})
    if not response.ok:
        raise AssertionError(f"login as {username!r} failed: POST {path} answered "
                             f"{response.status}: {response.text()[:300]}")
    return response


class AppPage:
    """A Playwright page with the app's vocabulary: open it, find widgets by key, sign in.

    `errors` collects uncaught page errors and console errors as they happen.
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.url = ""
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        where = f"{message.text} {message.location.get('url', '')}"
        if message.type == "error" and not any(s in where for s in IGNORED_CONSOLE):
            self.errors.append(f"console: {message.text}")

    def open(self, target: Any, path: str = "/", *, wait: bool = True) -> AppPage:
        """Go to the app (a URL or a served app) and wait until its widgets are rendered."""
        self.url = base_url(target)
        self.page.goto(self.url + path)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 15_000) -> None:
        wait_ready(self.page, timeout)

    def widget(self, key: str) -> Locator:
        """The element widget `key` is rendered in; `app.widget("counter").locator("input")`."""
        return widget_locator(self.page, key)

    def login(self, target: Any, username: str, password: str,
              path: str = "/api/auth/login") -> APIResponse:
        return login(self.page, target, username, password, path)

    @property
    def session_id(self) -> str:
        return str(self.page.evaluate("window.numerous.config.session"))
