"""The driver for plain (synchronous) tests: the async driver on an event loop of its own thread.

Sessions bind to the loop that creates them, so every call of one driver runs on the same
loop, in a background thread; the test's thread waits for each result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx

from numerous.apps._connection import Frame
from numerous.apps._session import Session

from ._driver import DEFAULT_BROWSER, AsyncAppDriver
from ._loading import load_app
from ._page import AsyncAppSession, WaitTimeout
from ._view import BrowserView, Message, WidgetView

T = TypeVar("T")
_GRACE = 5.0
"""Seconds the test thread waits beyond a call's own timeout before calling the loop stuck."""


class LoopThread:
    """An event loop running in a daemon thread; `run(coro)` from any other thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="numerous-testing-loop")
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout + _GRACE)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise WaitTimeout(f"the driver's event loop did not answer within {timeout} s") \
                from None

    def close(self) -> None:
        if self.loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.loop.shutdown_default_executor(), self.loop
                                         ).result(_GRACE)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(_GRACE)
        self.loop.close()


class AppSession:
    """One page of the app, as a browser has it. See `AsyncAppSession` for each method."""

    def __init__(self, inner: AsyncAppSession, loop: LoopThread) -> None:
        self.inner = inner
        self._loop = loop

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self._loop.run(coro, self.inner.timeout if timeout is None else timeout)

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def session(self) -> Session:
        """The server's `Session` (its `widgets`, `user`, ...), for looking behind the page."""
        return self.inner.session

    @property
    def html(self) -> str:
        return self.inner.html

    @property
    def config(self) -> dict[str, Any]:
        return self.inner.config

    @property
    def keys(self) -> list[str]:
        return self.inner.keys

    @property
    def view(self) -> BrowserView:
        """Everything the page received: `view.models`, `view.log`, `view.errors`."""
        return self.inner.view

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.inner.errors

    @property
    def connected(self) -> bool:
        return self.inner.connected

    def __getitem__(self, key: str) -> WidgetView:
        return self.inner[key]

    def messages(self, key: str) -> list[Message]:
        return self.inner.messages(key)

    def set(self, key: str, *, wait: bool = True, **traits: Any) -> None:
        """Change traits of widget `key` as its front-end would; `s.set("name", value="Ann")`."""
        self._run(self.inner.set(key, wait=wait, **traits))

    def click(self, key: str, *, wait: bool = True) -> None:
        """Click a numerous-widgets button: `clicked` + 1, then `value` True."""
        self._run(self.inner.click(key, wait=wait))

    def send(self, key: str, content: Any, buffers: Sequence[bytes] = (), *,
             wait: bool = True) -> None:
        """A custom message to the widget's `on_msg` handlers, with optional binary buffers."""
        self._run(self.inner.send(key, content, buffers, wait=wait))

    def send_frame(self, frame: Frame, *, wait: bool = True) -> None:
        self._run(self.inner.send_frame(frame, wait=wait))

    def settle(self, timeout: float | None = None) -> None:
        """Wait until the server handled everything sent and its answers arrived."""
        self._run(self.inner.settle(timeout), timeout)

    def wait_for(self, key: str, predicate: Callable[[WidgetView], object] | None = None,
                 /, *, timeout: float | None = None, **traits: Any) -> WidgetView:
        """Wait until widget `key` has these trait values; `s.wait_for("counter", value=1)`."""
        return self._run(self.inner.wait_for(key, predicate, timeout=timeout, **traits),
                         timeout)

    def wait_for_message(self, key: str, *, timeout: float | None = None) -> Message:
        """The next custom message from widget `key` that no earlier call returned."""
        return self._run(self.inner.wait_for_message(key, timeout=timeout), timeout)

    def wait_for_download(self, *, timeout: float | None = None) -> str:
        """The URL of the next file `download()` sent this page (fetch it with
        `driver.request("GET", url)`)."""
        return self._run(self.inner.wait_for_download(timeout=timeout), timeout)

    def wait_for_error(self, code: str | None = None, *,
                       timeout: float | None = None) -> dict[str, Any]:
        """The next `error` frame (of that `code`) that no earlier call returned."""
        return self._run(self.inner.wait_for_error(code, timeout=timeout), timeout)

    def reconnect(self) -> None:
        """Drop the WebSocket and connect again, as after a network drop."""
        self._run(self.inner.reconnect())

    def close(self) -> None:
        """Close the page and end its session on the server."""
        self._run(self.inner.close())

    def __repr__(self) -> str:
        return f"<AppSession {self.id[:6]} widgets={self.keys}>"


class AppDriver:
    """Drive an app in-process from plain tests.

    ```python
    with AppDriver(app) as driver:           # or AppDriver.from_file("app.py")
        s = driver.open_session()
        s.click("button")
        assert s["counter"].value == 1
    ```
    """

    def __init__(self, app: Any, *, timeout: float = 5.0) -> None:
        self.inner = AsyncAppDriver(app, timeout=timeout)
        self._loop: LoopThread | None = None

    @classmethod
    def from_file(cls, path: str | Path, attribute: str | None = None,
                  **options: Any) -> AppDriver:
        """Import `app.py` (or a folder's `app.py`) as `numerous run` does and drive its app."""
        return cls(load_app(path, attribute), **options)

    @property
    def app(self) -> Any:
        return self.inner.app

    @property
    def timeout(self) -> float:
        return self.inner.timeout

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop.run(coro, self.inner.timeout)

    def start(self) -> Self:
        """Run the app's start-up (done for you by the first page opened)."""
        self._run(self.inner.start())
        return self

    def close(self) -> None:
        """End every session opened here, run the app's shutdown, stop the loop thread."""
        if self._loop is None:
            return
        try:
            self._run(self.inner.close())
        finally:
            self._loop.close()
            self._loop = None

    def close_sessions(self) -> None:
        """End every session opened so far; the app keeps running."""
        if self._loop is not None:
            self._run(self.inner.close_sessions())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_session(self, path: str = "/", *, browser: str = DEFAULT_BROWSER) -> AppSession:
        """Load the page and connect to its session, as a browser tab does.

        Each `browser` name has its own cookies: pages of one browser share its client id
        (and login); another name is another visitor.
        """
        inner = self._run(self.inner.open_session(path, browser=browser))
        assert self._loop is not None
        return AppSession(inner, self._loop)

    def request(self, method: str, path: str, *, browser: str = DEFAULT_BROWSER,
                **options: Any) -> httpx.Response:
        """Any HTTP request to the app (through its ASGI stack), with that browser's cookies."""
        return self._run(self.inner.request(method, path, browser=browser, **options))

    def login(self, username: str, password: str, *, browser: str = DEFAULT_BROWSER,
              path: str = "/api/auth/login") -> httpx.Response:
        """Sign a browser in through the app's login endpoint."""
        return self._run(self.inner.login(username, password, browser=browser, path=path))
