"""Run an ASGI application's lifespan (start-up, shutdown) without a server."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


class LifespanError(RuntimeError):
    """The app's start-up or shutdown failed."""


class Lifespan:
    """The ASGI lifespan protocol, spoken to `app` from a task of its own.

    One task runs the app's lifespan from start-up to shutdown, as a server's does, so context
    managers entered at start-up are left in the task that entered them.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}
        self._task = asyncio.get_running_loop().create_task(
            self.app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        await self._expect("startup")

    async def stop(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._expect("shutdown")
        await self._task

    async def _expect(self, phase: str) -> None:
        assert self._task is not None
        reply = asyncio.ensure_future(self._outbox.get())
        await asyncio.wait([reply, self._task], return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():
            reply.cancel()
            error = self._task.exception()
            if error is not None:
                raise LifespanError(f"the app's {phase} failed: {error!r}") from error
            raise LifespanError(f"the app ended its lifespan before {phase} completed")
        message = reply.result()
        if message["type"] == f"lifespan.{phase}.failed":
            with contextlib.suppress(Exception):  # the task re-raises what it reported
                await self._task
            raise LifespanError(f"the app's {phase} failed: {message.get('message', '')}")
