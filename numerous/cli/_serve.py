"""Load an app from its file and serve it with uvicorn: the shared core of the commands."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import click
import uvicorn
from fastapi import FastAPI

from numerous.apps._dev import runtimes
from numerous.apps._hosts import HostCheck, default_allowed_hosts
from numerous.apps.auth._integration import _check_secret

from ._deadline import header_deadline

TIMEOUT_HEADERS = 10.0
"""Seconds a request has to send its complete headers."""
TIMEOUT_KEEP_ALIVE = 5
"""Seconds an idle connection is kept open between requests."""


def load_app(path: Path, attribute: str | None = None) -> FastAPI:
    """Import `path` as a module and return its app (the `app` attribute, or the only
    FastAPI application defined at module level)."""
    path = path.resolve()
    if not path.is_file():
        raise click.ClickException(f"{path} does not exist")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise click.ClickException(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return find_app(module, path, attribute)


def find_app(module: Any, path: Path, attribute: str | None) -> FastAPI:
    if attribute:
        app = getattr(module, attribute, None)
        if not isinstance(app, FastAPI):
            raise click.ClickException(f"{path.name} has no FastAPI app named {attribute!r}")
        return app
    app = getattr(module, "app", None)
    if isinstance(app, FastAPI):
        return app
    found = [v for v in vars(module).values() if isinstance(v, FastAPI)]
    if len(found) != 1:
        raise click.ClickException(
            f"{path.name}: expected one app made with create_app(); name it `app` "
            "or pass --app NAME")
    return found[0]


def production(app: Any) -> bool:
    """Turn dev mode off in every Numerous app inside `app`; whether any had it on.

    Dev mode shows tracebacks to visitors and, unless the app decided otherwise, serves the
    agent API, so production serving never keeps it by accident.
    """
    found = runtimes(app)
    was_dev = any(runtime.dev or runtime.sessions.dev for runtime in found)
    if was_dev:
        _check_auth_secrets(app)
    for runtime in found:
        runtime.dev = False
        runtime.sessions.dev = False
    return was_dev


def _check_auth_secrets(app: Any) -> None:
    """Sign-in made in dev mode may use a generated or short JWT secret, which production
    refuses (create_app checks it only when it runs with dev=False): check it again."""
    apps = [app] + [getattr(route, "app", None) for route in getattr(app, "routes", [])]
    for each in apps:
        settings = getattr(getattr(each, "state", None), "numerous_auth", None)
        if settings is None:
            continue
        try:
            _check_secret(settings.provider, dev=False)
        except RuntimeError as exc:
            raise click.ClickException(f"{exc}\n(numerous run --dev keeps dev mode.)") from None


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
    """
    options.setdefault("ws_per_message_deflate", False)
    options.setdefault("timeout_keep_alive", TIMEOUT_KEEP_ALIVE)
    options.setdefault("server_header", False)
    guarded = HostCheck(app, default_allowed_hosts(host, allowed_hosts or []))
    return uvicorn.Config(guarded, host=host, port=port, http=header_deadline(timeout_headers),
                          **options)


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
