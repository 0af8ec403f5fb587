"""Dev mode: watch the app folder, reload the app, push reloads and errors to open browsers.

`DevServer` is an ASGI app that forwards to the app currently loaded from `app.py`. When a
Python file in the folder changes, the module is executed again; a template or static change
needs no new code. Every open page is told: after a template or static change it reloads;
after new code whose page is unchanged it swaps the new app's widgets in without reloading.
Either way the values the user had put into widgets are carried over to the new session of
the same browser, for every widget key that still exists. A file that fails to load leaves
the server running: open pages show the traceback over the app, new page loads get an error
page, and the next good save recovers.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from markupsafe import escape
from starlette.responses import HTMLResponse, Response
from watchfiles import Change, DefaultFilter, awatch

from ._app import runtimes
from ._loader import AppNotFound, load_app
from ._protocol import DevError, Reload, ServerMessage
from ._runtime import AppRuntime

logger = logging.getLogger("numerous.apps")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

RELOAD_DEBOUNCE_MS = 30
RELOAD_STEP_MS = 10


class DevServer:
    """Serve `app_path` and keep it current while its folder changes."""

    def __init__(self, app_path: Path, attribute: str | None = None) -> None:
        self.path = app_path.resolve()
        self.folder = self.path.parent
        self.attribute = attribute
        self._local_files: dict[str, bool] = {}
        self.app: FastAPI | None = None
        self._last_good: FastAPI | None = None
        self.error: str | None = None
        self.reloads = 0
        self._stop = asyncio.Event()
        self._load()

    # --- loading ----------------------------------------------------------------------------

    def _load(self) -> bool:
        self._forget_local_modules()
        try:
            app = load_app(self.path, self.attribute, dev=True)
        except AppNotFound as exc:
            # The same sentence `numerous run` exits with; dev keeps watching and says so.
            self._failed(str(exc), f"{exc} (still watching {self.folder}: save a fix and the "
                                   "app loads)")
            return False
        except BaseException as exc:  # noqa: BLE001 - SyntaxError, SystemExit: all are shown
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = "".join(traceback.format_exception(exc))
            self._failed(error, f"{self.path.name} failed to load (still watching "
                                f"{self.folder}: save a fix and the app loads):\n{error}")
            return False
        previous = self.app or self._last_good
        self.app, self._last_good, self.error = app, app, None
        if previous is not None:
            _carry_over(runtimes(previous), runtimes(app))
        return True

    def _failed(self, error: str, message: str) -> None:
        self.error = error
        logger.error("%s", message)
        self.app = None  # new page loads get the error page until the file is fixed

    def _forget_local_modules(self) -> None:
        """Drop modules imported from the app folder, so that their new code is used.

        Whether a module file is in the folder is worked out once per file name: resolving
        the path of each of the thousand-odd modules a process holds took 60-190 ms of every
        reload."""
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if not file:
                continue
            local = self._local_files.get(file)
            if local is None:
                local = self._local_files[file] = Path(file).resolve().is_relative_to(self.folder)
            if local:
                del sys.modules[name]

    # --- ASGI -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http" and _is_probe(scope):
            # The error page asks whether the app loads again, without opening a session.
            await Response(status_code=204 if self.app is not None else 503)(scope, receive, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await _error_page(self.error or "")(scope, receive, send)
        else:
            await send({"type": "websocket.close", "code": 1013})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async with AsyncExitStack() as stack:
            await receive()
            if self.app is not None:
                await stack.enter_async_context(self.app.router.lifespan_context(self.app))
            watcher = asyncio.create_task(self.watch())
            await send({"type": "lifespan.startup.complete"})
            await receive()
            self._stop.set()
            watcher.cancel()
        await send({"type": "lifespan.shutdown.complete"})

    # --- watching ---------------------------------------------------------------------------

    async def watch(self) -> None:
        async for changes in awatch(self.folder, watch_filter=_Filter(), debounce=RELOAD_DEBOUNCE_MS,
                                    step=RELOAD_STEP_MS, stop_event=self._stop):
            await self.changed({Path(path) for _, path in changes})

    async def changed(self, paths: set[Path]) -> None:
        """React to changed files: reload the code if Python changed, then tell the browsers.

        A template or static change reloads every page. New code may leave a page as it was
        (only what the widgets hold changed): such a page keeps its document and takes a
        session of the new app over a new connection (`_broadcast_reload`)."""
        self.reloads += 1
        names = ", ".join(sorted(p.name for p in paths))
        old = self._last_good
        if old is not None:
            await _remember_values(runtimes(old))
        if not any(path.suffix == ".py" for path in paths):
            logger.info("%s changed: reloading browsers", names)
            _broadcast(old, Reload(type="reload"))
            return
        recovering = self.error is not None
        if not self._load():
            _broadcast(old, DevError(type="dev_error", message=f"{self.path.name} failed to "
                                     "load", traceback=self.error or ""))
            return
        # After a failure the terminal's last lines are a traceback: say it is over.
        logger.info("app reloaded: %s %s(%s changed)", self.path.name,
                    "loads again " if recovering else "", names)
        _broadcast_reload(old)
        for runtime in runtimes(old):
            asyncio.get_running_loop().call_later(10.0, runtime.sessions.close_all,
                                                  "The app was reloaded.")


def _is_probe(scope: Scope) -> bool:
    return any(name == PROBE_HEADER.encode() for name, _ in scope.get("headers", []))


class _Filter(DefaultFilter):
    def __call__(self, change: Change, path: str) -> bool:
        return super().__call__(change, path) and not path.endswith((".log", ".db", ".sqlite"))


def _broadcast(app: Any, message: ServerMessage) -> None:
    for runtime in runtimes(app):
        for session in runtime.sessions:
            session.outbox.put(message, force=True)


def _broadcast_reload(app: Any) -> None:
    """Tell the pages of the replaced app to reload, each with the tag of the page it was
    built from: a page that asks for itself again with that tag and gets a 304 is unchanged,
    and takes the session built for that request without reloading (docs/protocol.md)."""
    for runtime in runtimes(app):
        for session in runtime.sessions:
            message = Reload(type="reload")
            if session.page_tag is not None:
                message["tag"] = session.page_tag
            session.outbox.put(message, force=True)


async def _remember_values(old: list[AppRuntime]) -> None:
    """Keep, per browser, the widget values that changed since each session was built."""
    for runtime in old:
        for session in runtime.sessions:
            try:
                changed = await asyncio.wait_for(session.call(session.changed_values), 2.0)
            except (TimeoutError, RuntimeError):
                continue
            if changed:
                runtime.carried_values[session.owner] = changed


def _carry_over(old: list[AppRuntime], new: list[AppRuntime]) -> None:
    """Hand each new app the values kept for its predecessor: the app in the same place of the
    file's server (combine_apps mounts them in the order given)."""
    if len(old) != len(new):
        return
    for previous, runtime in zip(old, new, strict=True):
        if previous is not runtime:
            runtime.carried_values.update(previous.carried_values)


PROBE_HEADER = "x-numerous-dev-probe"


def _error_page(error: str) -> HTMLResponse:
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>App failed to load</title></head><body style="margin:0;background:#0f172a;color:#fecaca;
font:14px/1.45 ui-monospace,monospace"><main style="padding:2rem"><h1 style="color:#f87171">
The app failed to load</h1><p>Fix the file and save: this page reloads by itself.</p>
<pre>{escape(error)}</pre></main><script>
setInterval(async () => {{
  try {{ const r = await fetch(location.href, {{cache: "no-store",
                                                 headers: {{"{PROBE_HEADER}": "1"}}}});
        if (r.ok) location.reload(); }} catch (e) {{}}
}}, 300);
</script></body></html>"""
    return HTMLResponse(html, status_code=500, headers={"Cache-Control": "no-store"})
