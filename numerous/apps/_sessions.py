"""All live sessions of one app: creation, lookup, admission and expiry."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from ._capacity import AddressRate, machine_session_cap
from ._heap import collect_everything
from ._protocol import CloseCode
from ._session import Builder, Session
from ._worker import Worker
from ._writes import SharedWrites

logger = logging.getLogger("numerous.apps")


@dataclass
class SessionLimits:
    grace: float = 60.0
    """Seconds a session lives on without a connection (also before its first one)."""
    max_sessions: int | None = field(default_factory=machine_session_cap)
    """Live sessions at most; further visitors get a 'try again' page. By default what the
    machine's thread limit and available memory allow (`machine_session_cap`); None: no cap."""
    max_new_sessions_per_minute: int | None = 120
    """New sessions one client address may open a minute (page loads); further ones get a
    429 'try again' page. None: no limit."""
    max_pending: int = 10_000
    """Messages that cannot be coalesced waiting for one client before it is dropped."""
    max_message_bytes: int = 1024 * 1024
    """Largest frame accepted from a browser (refused before it is parsed)."""
    max_frames_per_second: float = 200.0
    """Sustained inbound frames per second per connection (bursts of twice that pass)."""
    max_inbox_bytes: int = 16 * 1024 * 1024
    """Bytes of a session's frames accepted but not yet handled by its worker; a connection
    that sends past it is closed (4413), its session lives on."""
    max_bytes_per_second: float = 1024 * 1024
    """Sustained inbound bytes per second per connection (bursts of twice that pass): what a
    connection may make the server parse, whatever the size of its frames."""


class AtCapacity(Exception):
    """The cap on live sessions is reached (or the machine can start no more threads)."""


class TooManyNew(AtCapacity):
    """One address has opened as many new sessions as it may this minute."""


MAX_HELD = 16
"""Sessions held per owner for cached page loads; an older one is left to expire."""


class SessionManager:
    def __init__(self, limits: SessionLimits, dev: bool = False,
                 writes: SharedWrites | None = None) -> None:
        self.limits = limits
        self.dev = dev
        self.writes = writes
        """What visitors may write into the shared widgets (None: the default rule)."""
        self._sessions: dict[str, Session] = {}
        self._trim: asyncio.TimerHandle | None = None
        per_minute = limits.max_new_sessions_per_minute
        self._new = AddressRate(per_minute) if per_minute is not None else None
        self.assets: set[str] = set()
        """The asset names (widget code) this app's sessions registered: what it serves."""
        self.shared: Worker | None = None
        """The worker of the widgets every page shares, for create_app(share_widgets=True)."""
        self._held: dict[str, list[tuple[str, Session]]] = {}
        """Sessions built for page loads the browser answered from its cache (a 304), by
        owner: (the page's path and query, session), oldest first."""

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Any:
        return iter(list(self._sessions.values()))

    def create(self, builder: Builder, *, owner: str, base: str, user: Any = None,
               shared: bool = False, address: str | None = None
               ) -> tuple[Session, asyncio.Future[Any]]:
        """Open a session and start building its widgets on its worker's thread.

        The session gets a worker of its own or, with `shared`, joins the app's one worker of
        shared widgets (built on first use). `address` is the client's, for the limit on new
        sessions per address. Raises `AtCapacity` (`TooManyNew`) and leaves nothing behind
        when the session cannot be opened."""
        cap = self.limits.max_sessions
        if cap is not None and len(self._sessions) >= cap:
            raise AtCapacity
        if address is not None and self._new is not None and not self._new.allow(address):
            raise TooManyNew
        loop = asyncio.get_running_loop()
        session_id = secrets.token_urlsafe(24)
        worker = self._shared_worker(base, loop) if shared else None
        session = Session(session_id, owner, worker, base=base, dev=self.dev, loop=loop,
                          max_pending=self.limits.max_pending, user=user, assets=self.assets)
        try:
            built = session.start(builder)
        except RuntimeError as exc:  # "can't start new thread": the machine is full
            logger.warning("could not start a session's thread (%s); turning the visitor away",
                           exc)
            session.close()
            raise AtCapacity from exc
        self._sessions[session.id] = session
        session.on_end = self.close
        self.detached(session)
        return session, built

    def _shared_worker(self, base: str, loop: asyncio.AbstractEventLoop) -> Worker:
        if self.shared is None or self.shared.failed:
            if self.shared is not None:
                self.shared.stop()  # run_app() failed: the next visitor tries again
            self.shared = Worker("numerous-shared-widgets", base=base, dev=self.dev, loop=loop,
                                 shared=True, assets=self.assets, writes=self.writes)
        return self.shared

    def get(self, session_id: str, owner: str) -> Session | None:
        """The live session with that id, if `owner` is the one who opened it."""
        session = self._sessions.get(session_id)
        if session is None or session.closed:
            return None
        if not hmac.compare_digest(session.owner.encode(), owner.encode()):
            return None
        return session

    def hold(self, owner: str, url: str, session: Session) -> None:
        """Keep `session` for the owner's page at `url` that shows a copy from the browser's
        cache: that page's hello names the session of the copy, not this one (`claim`). A
        held session is let go when it closes (unclaimed, it expires like any other)."""
        self._held[owner] = [*self._held.get(owner, ()), (url, session)][-MAX_HELD:]
        session.on_close(lambda: self._unhold(owner, session))

    def _unhold(self, owner: str, session: Session) -> None:
        held = [(u, s) for u, s in self._held.get(owner, ()) if s is not session]
        if held:
            self._held[owner] = held
        else:
            self._held.pop(owner, None)

    def claim(self, owner: str, url: str) -> Session | None:
        """The oldest live session held for `owner`'s page at `url`, taken (or None)."""
        found = next((s for u, s in self._held.get(owner, ())
                      if u == url and not s.closed and not s.joined), None)
        if found is not None:
            self._unhold(owner, found)
        return found

    def attached(self, session: Session) -> None:
        """A connection joined the session: it no longer expires."""
        _cancel_expiry(session)

    def detached(self, session: Session) -> None:
        """No connection now: the session expires after the grace period unless one comes."""
        _cancel_expiry(session)
        session.expiry = session.loop.call_later(self.limits.grace, self._expire, session)

    def _expire(self, session: Session) -> None:
        session.expiry = None
        if not session.closed:
            logger.debug("session %s expired", session.id[:6])
            self.close(session)

    def close(self, session: Session, reason: str = "This session has ended.",
              code: int = CloseCode.SESSION_UNKNOWN) -> None:
        self._sessions.pop(session.id, None)
        _cancel_expiry(session)  # a pending timer would keep the closed session alive
        session.close(reason, code)
        if self._trim is None:
            self._trim = session.loop.call_later(TRIM_DELAY, self._give_back_memory)

    def _give_back_memory(self) -> None:
        self._trim = None
        # A closed session's widgets sit in reference cycles (traitlets observers, bound
        # methods) that only a full collection frees, frozen objects included (_heap.py).
        collect_everything()
        release_free_memory()

    def close_all(self, reason: str = "The server is shutting down."
                  ) -> list[Session | Worker]:
        """Close every session and stop the shared worker; returns what to `join()`."""
        closed: list[Session | Worker] = list(self._sessions.values())
        for session in list(self._sessions.values()):
            self.close(session, reason, CloseCode.GOING_AWAY)
        if self.shared is not None:
            closed.append(self.shared)
            self.shared.stop()
            self.shared = None
        return closed


TRIM_DELAY = 2.0
"""Seconds after a session closes before its memory is collected and handed back (one pass
per burst of closes)."""

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
_malloc_trim = getattr(_libc, "malloc_trim", None)


def release_free_memory() -> None:
    """Return the C heap's free pages to the operating system (glibc only; else a no-op).

    Python frees a closed session's objects at once, but glibc keeps the pages for reuse;
    trimming makes the process's RSS go back down after sessions close.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


def _cancel_expiry(session: Session) -> None:
    if session.expiry is not None:
        session.expiry.cancel()
        session.expiry = None
