"""All live sessions of one app: creation, lookup, admission and expiry."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from ._protocol import CloseCode
from ._session import Builder, Session

logger = logging.getLogger("numerous.apps")


@dataclass
class SessionLimits:
    grace: float = 60.0
    """Seconds a session lives on without a connection (also before its first one)."""
    max_sessions: int | None = None
    """Live sessions at most; further visitors get a 'try again' page. None: no cap."""
    max_pending: int = 10_000
    """Messages that cannot be coalesced waiting for one client before it is dropped."""
    max_message_bytes: int = 8 * 1024 * 1024
    """Largest frame accepted from a browser."""
    max_frames_per_second: float = 200.0
    """Sustained inbound frames per second per connection (bursts of twice that pass)."""


class AtCapacity(Exception):
    """The cap on live sessions is reached."""


class SessionManager:
    def __init__(self, limits: SessionLimits, dev: bool = False) -> None:
        self.limits = limits
        self.dev = dev
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Any:
        return iter(list(self._sessions.values()))

    def create(self, builder: Builder, *, owner: str, base: str, user: Any = None
               ) -> tuple[Session, asyncio.Future[Any]]:
        """Open a session and start building its widgets on its own thread."""
        cap = self.limits.max_sessions
        if cap is not None and len(self._sessions) >= cap:
            raise AtCapacity
        loop = asyncio.get_running_loop()
        session = Session(secrets.token_urlsafe(24), owner, base=base, dev=self.dev, loop=loop,
                          max_pending=self.limits.max_pending, user=user)
        self._sessions[session.id] = session
        built = session.start(builder)
        self.detached(session)
        return session, built

    def get(self, session_id: str, owner: str) -> Session | None:
        """The live session with that id, if `owner` is the one who opened it."""
        session = self._sessions.get(session_id)
        if session is None or session.closed:
            return None
        if not hmac.compare_digest(session.owner.encode(), owner.encode()):
            return None
        return session

    def attached(self, session: Session) -> int:
        """A connection joined the session: pending expiry is off. Returns its generation."""
        session.generation += 1
        return session.generation

    def detached(self, session: Session) -> None:
        """No connection now: the session expires after the grace period unless one comes."""
        session.generation += 1
        generation = session.generation
        session.loop.call_later(self.limits.grace, self._expire, session, generation)

    def _expire(self, session: Session, generation: int) -> None:
        if session.generation == generation and not session.closed:
            logger.debug("session %s expired", session.id[:6])
            self.close(session)

    def close(self, session: Session, reason: str = "This session has ended.",
              code: int = CloseCode.SESSION_UNKNOWN) -> None:
        self._sessions.pop(session.id, None)
        session.close(reason, code)

    def close_all(self, reason: str = "The server is shutting down.") -> list[Session]:
        sessions = list(self._sessions.values())
        for session in sessions:
            self.close(session, reason, CloseCode.GOING_AWAY)
        return sessions
