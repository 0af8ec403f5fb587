"""Fixtures for the unit tests: session managers, sessions and in-memory connections that are
always torn down (threads joined, streams closed), so no test leaks into the next."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from numerous.apps import _comm, _heap
from numerous.apps._connection import MemoryConnection, memory_pair
from numerous.apps._session import Session
from numerous.apps._sessions import SessionLimits, SessionManager
from numerous.apps._socket import serve_connection

from ._support import OWNER, TestClient, WireClient, hello, join


# This process starts hundreds of apps and checks that closed sessions are collected: the
# survivors of a full collection are not frozen here (tests/unit/test_heap.py checks the rule).
_heap.FREEZE_AFTER_FULL = False


@pytest.fixture(autouse=True)
def _session_aware_comms() -> None:
    """Sessions rely on `comm.create_comm` being routed; the app does this in create_app()."""
    _comm.install()


@pytest.fixture
async def make_manager() -> AsyncIterator[Callable[..., SessionManager]]:
    managers: list[SessionManager] = []

    def make(dev: bool = False, writes: Any = None, **limits: Any) -> SessionManager:
        manager = SessionManager(SessionLimits(**limits), dev=dev, writes=writes)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        for session in manager.close_all():
            assert await join(session), "a session thread did not end"


@pytest.fixture
async def make_session() -> AsyncIterator[Callable[..., Any]]:
    """Start a bare Session (no manager, no socket); returns (session, widgets)."""
    sessions: list[Session] = []

    async def make(builder: Callable[[], dict[str, Any]], *, dev: bool = False,
                   base: str = "", max_pending: int = 10_000) -> tuple[Session, dict[str, Any]]:
        session = Session(f"test-session-{len(sessions)}", OWNER, base=base, dev=dev,
                          loop=asyncio.get_running_loop(), max_pending=max_pending)
        sessions.append(session)
        widgets = await session.start(builder)
        return session, widgets

    yield make
    for session in sessions:
        session.close()
        assert await join(session), "a session thread did not end"


def _close_streams(end: MemoryConnection) -> None:
    end._out.close()  # noqa: SLF001 - the harness owns both ends
    end._in.close()  # noqa: SLF001


@pytest.fixture
async def connect(make_manager: Any) -> AsyncIterator[Callable[..., Any]]:
    """Serve an in-memory connection; with `session_id`, the hello is sent for you."""
    opened: list[tuple[MemoryConnection, MemoryConnection, asyncio.Task[None]]] = []

    async def open_(manager: SessionManager, session_id: str | None = None,
                    owner: str = OWNER) -> WireClient:
        server_end, client_end = memory_pair()
        task = asyncio.create_task(serve_connection(server_end, manager, owner))
        opened.append((server_end, client_end, task))
        client = WireClient(client_end, task)
        if session_id is not None:
            await client.send(hello(session_id))
        return client

    yield open_
    for server_end, client_end, task in opened:
        await client_end.close()
        try:
            await asyncio.wait_for(asyncio.shield(task), 3)
        except TimeoutError:
            task.cancel()
            raise AssertionError("serve_connection did not end when its client went away")
        finally:
            _close_streams(server_end)
            _close_streams(client_end)


@pytest.fixture
def served() -> Iterator[Callable[..., TestClient]]:
    """`served(app)`: a TestClient whose lifespan runs (and ends every session when the test is
    over). Redirects are not followed unless asked (`follow_redirects=True`)."""
    clients: list[TestClient] = []

    def serve(app: Any, **kwargs: Any) -> TestClient:
        kwargs.setdefault("follow_redirects", False)
        client = TestClient(app, **kwargs)
        client.__enter__()
        clients.append(client)
        return client

    yield serve
    for client in clients:
        client.__exit__(None, None, None)
