"""The in-process driver, async-native: an app's pages and sessions without a server or browser.

A session is opened the way a browser opens one: `GET /` through the app's ASGI stack (so the
template is rendered and its errors surface), then a WebSocket session over an in-memory
connection (see `_session.py`). The app's lifespan runs around it all.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from pathlib import Path
from typing import Any, Self

import httpx
from starlette.requests import HTTPConnection

from numerous.apps._client import client_token
from numerous.apps._runtime import AppRuntime

from ._lifespan import Lifespan
from ._loading import load_app
from ._page import AppPageError, AsyncAppSession

BASE_URL = "http://testserver"
DEFAULT_BROWSER = "default"
_CONFIG = re.compile(r'<script id="numerous-config" type="application/json">(.*?)</script>',
                     re.DOTALL)
_NAVIGATION = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8",
               "sec-fetch-mode": "navigate", "sec-fetch-dest": "document",
               "sec-fetch-site": "none"}
"""The headers a browser sends when it loads a page (authentication redirects those)."""
_ERROR_PARTS = {"title": "numerous-error-page__title", "message": "numerous-error-page__message",
                "traceback": "numerous-error-page__traceback"}


class AsyncAppDriver:
    """Drive an app in-process: `async with AsyncAppDriver(app) as driver: ...`.

    Runs the app's lifespan (start-up and shutdown), fetches pages through its ASGI stack
    with `httpx`, and opens sessions over in-memory connections on the running event loop.
    """

    def __init__(self, app: Any, *, timeout: float = 5.0, base_url: str = BASE_URL) -> None:
        self.app = app
        self.timeout = timeout
        self.base_url = base_url
        self.sessions: list[AsyncAppSession] = []
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._lifespan: Lifespan | None = None

    @classmethod
    def from_file(cls, path: str | Path, attribute: str | None = None,
                  **options: Any) -> AsyncAppDriver:
        """Import `app.py` (or a folder's `app.py`) as `numerous run` does and drive its app."""
        return cls(load_app(path, attribute), **options)

    async def start(self) -> None:
        if self._lifespan is None:
            self._lifespan = Lifespan(self.app)
            await self._lifespan.start()

    async def close(self) -> None:
        """End every session opened here, then run the app's shutdown."""
        try:
            await self.close_sessions()
        finally:
            for client in self._clients.values():
                await client.aclose()
            self._clients.clear()
            if self._lifespan is not None:
                lifespan, self._lifespan = self._lifespan, None
                await lifespan.stop()

    async def close_sessions(self) -> None:
        """End every session opened so far; the app keeps running."""
        sessions, self.sessions = self.sessions, []
        await asyncio.gather(*(session.close() for session in sessions))

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def client(self, browser: str = DEFAULT_BROWSER) -> httpx.AsyncClient:
        """The HTTP client of a browser: each name has its own cookies (client id, login)."""
        if browser not in self._clients:
            self._clients[browser] = httpx.AsyncClient(
                # A named client, not an address: the driver's sessions are not limited per
                # address, however many a test suite opens.
                transport=httpx.ASGITransport(app=self.app, client=("numerous-driver", 0)),
                base_url=self.base_url)
        return self._clients[browser]

    async def request(self, method: str, path: str, *, browser: str = DEFAULT_BROWSER,
                      **options: Any) -> httpx.Response:
        """Any HTTP request to the app, with that browser's cookies."""
        await self.start()
        return await self.client(browser).request(method, path, **options)

    async def login(self, username: str, password: str, *, browser: str = DEFAULT_BROWSER,
                    path: str = "/api/auth/login") -> httpx.Response:
        """Sign a browser in through the app's login endpoint; its later pages are that user's."""
        response = await self.request("POST", path, browser=browser,
                                      json={"username": username, "password": password},
                                      headers={"origin": self.base_url})  # as a page's fetch
        if response.status_code >= 400:
            raise AppPageError(f"POST {path} answered {response.status_code}: "
                               f"{response.text[:300]}")
        return response

    async def open_session(self, path: str = "/", *,
                           browser: str = DEFAULT_BROWSER) -> AsyncAppSession:
        """Load the page at `path` and connect to its session, as a browser tab does."""
        await self.start()
        client = self.client(browser)
        response = await _get_page(client, path)
        config = _page_config(path, response)
        runtime = _runtime_for(self.app, str(config.get("base", "")))
        owner = await _owner(runtime, client, str(config.get("ws", "/numerous/ws")))
        session = runtime.sessions.get(str(config["session"]), owner)
        if session is None:
            raise AppPageError(f"the page's session {str(config['session'])[:6]} is not live")
        page = AsyncAppSession(runtime, session, owner, response.text, config, self.timeout)
        self.sessions.append(page)
        await page.connect()
        return page


async def _get_page(client: httpx.AsyncClient, path: str) -> httpx.Response:
    records: list[logging.LogRecord] = []
    handler = _Collect(records)
    logger = logging.getLogger("numerous.apps")
    logger.addHandler(handler)
    try:
        response = await client.get(path, headers=_NAVIGATION)
    finally:
        logger.removeHandler(handler)
    if response.status_code != 200:
        raise AppPageError(_page_failure(path, response, records))
    return response


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _page_failure(path: str, response: httpx.Response, records: list[logging.LogRecord]) -> str:
    status = response.status_code
    if 300 <= status < 400:
        return (f"GET {path} redirected ({status}) to {response.headers.get('location')}: "
                "sign in first (driver.login(...)), or open the page it points to")
    parts = {name: _element_text(response.text, css) for name, css in _ERROR_PARTS.items()}
    lines = [f"GET {path} answered {status}: {parts['title'] or response.reason_phrase}"]
    if parts["message"]:
        lines.append(parts["message"])
    lines += [f"logged: {record.getMessage()}" for record in records
              if record.getMessage() != parts["message"]]
    if parts["traceback"]:
        lines.append(parts["traceback"])
    return "\n".join(lines)


def _element_text(page: str, css_class: str) -> str:
    match = re.search(rf'class="{css_class}"[^>]*>(.*?)</', page, re.DOTALL)
    return html.unescape(match.group(1)).strip() if match else ""


def _page_config(path: str, response: httpx.Response) -> dict[str, Any]:
    match = _CONFIG.search(response.text)
    if match is None:
        raise AppPageError(f"GET {path} returned a page without the app's client config "
                           "(#numerous-config): is it a page of a Numerous app?")
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def _runtime_for(app: Any, base: str) -> AppRuntime:
    """The runtime serving a page with `base`: the app's own, or that of an app mounted in it
    (`combine_apps`)."""
    runtime = getattr(app, "numerous", None)
    if isinstance(runtime, AppRuntime) and not base:
        return runtime
    for route in getattr(app, "routes", []):
        mounted = getattr(route, "app", None)
        if getattr(route, "path", None) == base and isinstance(
                getattr(mounted, "numerous", None), AppRuntime):
            return mounted.numerous  # type: ignore[union-attr, no-any-return]
    if isinstance(runtime, AppRuntime):
        return runtime
    raise AppPageError(f"no Numerous app is served at {base or '/'!r} in {type(app).__name__}")


async def _owner(runtime: AppRuntime, client: httpx.AsyncClient, ws_path: str) -> str:
    """Who the WebSocket belongs to, decided by the app as for a real one (cookies and all)."""
    cookies = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)
    host = httpx.URL(str(client.base_url)).host
    scope = {"type": "websocket", "path": ws_path, "root_path": "", "query_string": b"",
             "headers": [(b"host", host.encode()), (b"cookie", cookies.encode())],
             "scheme": "ws", "server": (host, 80), "client": ("127.0.0.1", 50000),
             "subprotocols": []}
    connection = HTTPConnection(scope)
    identity = await runtime.identify(connection, client_token(connection))
    if identity is None:
        raise AppPageError("the app refused the WebSocket (4401, not authenticated)")
    return identity.owner


