"""Load an app from its file and serve it with uvicorn: the shared core of the commands."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import FrameType
from typing import Any

import click
import uvicorn

from numerous.apps.serving import AppNotFound, HostCheck, default_allowed_hosts, runtimes
from numerous.apps.serving import load_app as _load

from ._deadline import header_deadline

TIMEOUT_HEADERS = 10.0
"""Seconds a request has to send its complete headers."""
TIMEOUT_KEEP_ALIVE = 5
"""Seconds an idle connection is kept open between requests."""


def load_app(path: Path, attribute: str | None = None, *, dev: bool | None = None) -> Any:
    """The app in `path`, as every command loads it; a missing app is a one-line error."""
    try:
        return _load(path, attribute, dev=dev)
    except AppNotFound as exc:
        raise click.ClickException(str(exc)) from None
    except RuntimeError as exc:
        if dev is False:  # e.g. a sign-in secret production refuses
            raise click.ClickException(f"{exc}\n(numerous run --dev keeps dev mode.)") from None
        raise


class _UvicornStyle(logging.Formatter):
    """`INFO:     message`, the way uvicorn's own lines look beside it."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname + ':':<10}{super().format(record)}"


def dev_logging() -> None:
    """Show the framework's own lines in the dev server's terminal: load failures with their
    traceback, and "app reloaded" once a save loads again."""
    logger = logging.getLogger("numerous.apps")
    if not any(getattr(handler, "numerous_dev", False) for handler in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(_UvicornStyle("%(message)s"))
        handler.numerous_dev = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def dev_was_asked(app: Any) -> bool:
    """Whether an app inside `app` asked for dev=True (that `numerous run` turned off)."""
    return any(runtime.settings.dev_requested and not runtime.dev for runtime in runtimes(app))


def serve(app: Any, host: str, port: int, **options: Any) -> None:
    """Serve `app`; on Ctrl+C or SIGTERM its sessions end first and their pages are told.

    `options` are uvicorn's, `allowed_hosts` and `timeout_headers` (see `server_config`).
    """
    GracefulServer(server_config(app, host, port, **options), app).run()


def server_config(app: Any, host: str, port: int, *, allowed_hosts: list[str] | None = None,
                  timeout_headers: float = TIMEOUT_HEADERS, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for `app` as `numerous run` serves it (docs/deploy.md).

    Requests must name the server in their Host header: the bound address and
    `allowed_hosts` (default_allowed_hosts; `["*"]` allows any). A connection is closed when
    a request's headers are not complete `timeout_headers` seconds after it began, or when it
    idles `timeout_keep_alive` seconds between requests. No `server` header says what serves.
    Per-message deflate is off unless asked for: frames are small JSON diffs, and each
    compressed connection keeps about 49 KiB of zlib state (a third of an idle session).
    A WebSocket frame over twice the app's `max_message_bytes` is refused from its header,
    before its payload is read (1009); up to that, the app answers `too_large` itself.
    """
    options.setdefault("ws_per_message_deflate", False)
    options.setdefault("ws_max_size", _frame_ceiling(app))
    options.setdefault("timeout_keep_alive", TIMEOUT_KEEP_ALIVE)
    options.setdefault("server_header", False)
    guarded = HostCheck(app, default_allowed_hosts(host, allowed_hosts or []))
    return uvicorn.Config(guarded, host=host, port=port, http=header_deadline(timeout_headers),
                          **options)


def _frame_ceiling(app: Any) -> int:
    """Twice the largest frame any app in `app` accepts (uvicorn's 16 MiB without one)."""
    sizes = [runtime.settings.limits.max_message_bytes for runtime in runtimes(app)]
    return 2 * max(sizes) if sizes else 16 * 1024 * 1024


class GracefulServer(uvicorn.Server):
    """uvicorn closes open WebSockets (1012, "service restart") before the app's shutdown runs,
    so pages would keep trying to reconnect. This server first stops taking new connections
    (a load balancer sends newcomers to another instance) and answers page requests on open
    connections with 503, then ends every session, which sends each page `session_lost` (the
    banner shows at once, or the page moves to another instance), then lets uvicorn shut
    down."""

    NOTICE_SECONDS = 0.3

    def __init__(self, config: uvicorn.Config, app: Any) -> None:
        super().__init__(config)
        self._runtimes = runtimes(app)
        self._noticed = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._noticed or not self._runtimes:
            super().handle_exit(sig, frame)
            return
        self._noticed = True
        for server in getattr(self, "servers", []):
            server.close()  # stop accepting; open connections carry on
        for runtime in self._runtimes:
            runtime.draining = True
            runtime.sessions.close_all("The server is shutting down.")
        loop = asyncio.get_event_loop()
        loop.call_later(self.NOTICE_SECONDS, super().handle_exit, sig, frame)
