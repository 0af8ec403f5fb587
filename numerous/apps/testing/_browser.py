"""Playwright helpers: the system Chromium, the app's ready signal, login, and locators for a
widget and for the page's own parts (login form, splash, session-lost banner, error dialog).

Tests find elements through these locators rather than through CSS selectors of their own, so
a change to the page's markup is made here once. Playwright is only needed by the code that
calls these; nothing here imports it.
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
IGNORED_CONSOLE = ("fonts.googleapis.com", "fonts.gstatic.com", "basemaps.cartocdn.com")
"""Web fonts that widget stylesheets import, and the map tiles of numerous-widgets' MapSelector:
failing to load them offline is not an app error."""


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


class LoginForm:
    """The sign-in page as locators: `username`, `password`, `submit` and the `error` shown
    after a failed attempt.

    They match the built-in login page and any custom login template that posts the same
    fields: `form.username.fill("ann"); form.password.fill(...); form.submit.click()`.
    """

    def __init__(self, page: Page) -> None:
        self.username = page.locator("input[name=username]")
        self.password = page.locator("input[name=password]")
        self.submit = page.locator("form button[type=submit]")
        self.error = page.locator("[data-numerous-login-error]")


class SessionLostBanner:
    """The banner shown when the server no longer knows the page's session (`banner`), and its
    button that reloads the page (`reload`)."""

    def __init__(self, page: Page) -> None:
        self.banner = page.locator("#numerous-session-lost")
        self.reload = self.banner.locator("[data-numerous-reload]")


class ErrorModal:
    """The dialog that shows a callback's error in dev mode: `dialog`, its `message`, the
    `traceback`, and the `close` button."""

    def __init__(self, page: Page) -> None:
        self.dialog = page.locator("#numerous-error-modal")
        self.message = self.dialog.locator("[data-numerous-error-message]")
        self.traceback = self.dialog.locator("[data-numerous-error-traceback]")
        self.close = self.dialog.locator("[data-numerous-error-close]")


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
        """The element widget `key` is rendered in; `app.widget("chart").locator("canvas")`."""
        return widget_locator(self.page, key)

    def input(self, key: str) -> Locator:
        """The `<input>` of widget `key`: what numerous-widgets' Number, Text, Slider and
        Checkbox render; `expect(app.input("counter")).to_have_value("1")`."""
        return self.widget(key).locator("input")

    def button(self, key: str) -> Locator:
        """The `<button>` of widget `key`, as numerous-widgets' Button renders it;
        `app.button("button").click()`."""
        return self.widget(key).locator("button")

    def widget_error(self, key: str) -> Locator:
        """What the page shows in place of widget `key` when it failed to render (none when it
        rendered)."""
        return self.widget(key).locator(".numerous-widget-error")

    @property
    def login_form(self) -> LoginForm:
        return LoginForm(self.page)

    @property
    def splash(self) -> Locator:
        """The loading screen, hidden once the app is ready."""
        return self.page.locator("#numerous-splash")

    @property
    def session_lost(self) -> SessionLostBanner:
        return SessionLostBanner(self.page)

    @property
    def error_modal(self) -> ErrorModal:
        return ErrorModal(self.page)

    @property
    def dev_overlay(self) -> Locator:
        """`numerous dev`'s overlay with the traceback of an app that no longer loads."""
        return self.page.locator("#numerous-dev-overlay")

    def login(self, target: Any, username: str, password: str,
              path: str = "/api/auth/login") -> APIResponse:
        return login(self.page, target, username, password, path)

    @property
    def session_id(self) -> str:
        return str(self.page.evaluate("window.numerous.config.session"))
