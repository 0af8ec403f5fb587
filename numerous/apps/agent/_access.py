"""Who may use which session through the agent API.

The rule is the page's: a session belongs to the owner `runtime.identify()` gives for the
request (the browser's `numerous_client` cookie, and with authentication the signed-in user as
well), and a session of another owner answers exactly like one that does not exist.

A script that should drive a session a browser opened cannot borrow that browser's cookie. The
browser's owner asks for an **attach code** instead: a random, single-use code that expires
after a few minutes. The script trades it for access; from then on the script's own owner (its
own cookie, and the same signed-in user) is a guest of that one session, until the session
ends. A session id alone grants nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from .._client import client_token
from .._runtime import AppError, AppRuntime, Identity
from .._session import Session
from .._sessions import AtCapacity
from ._errors import AgentError

CODE_TTL = 300.0
"""Seconds an attach code stays valid."""
MAX_CODES_PER_SESSION = 5


@dataclass
class _Code:
    session_id: str
    owner: str
    user_id: Any
    expires: float


@dataclass
class _Guests:
    owner: str
    """The session's own owner, to find it again through `SessionManager.get`."""
    guests: set[str] = field(default_factory=set)


class Access:
    """Sessions through the agent API: opening, finding, attach codes and guests."""

    def __init__(self, runtime: AppRuntime) -> None:
        self.runtime = runtime
        self._codes: dict[bytes, _Code] = {}
        self._guests: dict[str, _Guests] = {}

    async def identify(self, conn: HTTPConnection, token: str | None = None) -> Identity:
        """The caller's identity, exactly as the page route finds it; 401 without one."""
        if token is None:
            token = client_token(conn)
        identity = await self.runtime.identify(conn, token)
        if identity is None:
            raise AgentError(401, "not_authenticated", (
                "no identity: send the numerous_client cookie that POST .../api/agent/sessions "
                "or POST .../api/agent/attach set (and, when the app has sign-in, the cookies of "
                "POST .../api/auth/login)"))
        return identity

    async def open(self, identity: Identity, base: str) -> Session:
        """A new session of the caller's, with run_app() done."""
        runtime = self.runtime
        try:
            session, _ = await runtime.open_session(identity, base)
        except AtCapacity:
            raise AgentError(503, "at_capacity",
                             "the app has as many sessions as it can serve; retry shortly"
                             ) from None
        except AppError as exc:
            message = str(exc) if runtime.dev else "The app could not be started. It is logged."
            raise AgentError(500, "app_error", message) from None
        return session

    def find(self, session_id: str, identity: Identity) -> tuple[Session, bool]:
        """The session and whether the caller owns it (else it is a guest); 404 otherwise."""
        sessions = self.runtime.sessions
        session = sessions.get(session_id, identity.owner)
        if session is not None:
            self.touch(session)
            return session, True
        grant = self._guests.get(session_id)
        if grant is not None and identity.owner in grant.guests:
            session = sessions.get(session_id, grant.owner)
            if session is not None:
                self.touch(session)
                return session, False
            del self._guests[session_id]
        raise AgentError(404, "unknown_session", "no such session (it may have ended)")

    def touch(self, session: Session) -> None:
        """Use keeps a session alive: without a browser it expires `grace` seconds after the
        last request, as a page's session does after its browser goes."""
        if session.connection is None and not session.closed:
            self.runtime.sessions.detached(session)

    # --- attach codes ---------------------------------------------------------------------

    def issue_code(self, session: Session) -> str:
        """A single-use code that lets another client of the same user attach to `session`."""
        now = time.monotonic()
        self._forget_expired(now)
        mine = [key for key, code in self._codes.items() if code.session_id == session.id]
        for key in mine[: max(0, len(mine) - MAX_CODES_PER_SESSION + 1)]:
            del self._codes[key]
        code = secrets.token_urlsafe(24)
        self._codes[_digest(code)] = _Code(session.id, session.owner, _user_id(session.user),
                                           now + CODE_TTL)
        return code

    def attach(self, code: str, identity: Identity) -> Session:
        """Make the caller a guest of the code's session. The code is used up either way."""
        found = self._codes.pop(_digest(code), None)
        session = None
        if found is not None and found.expires > time.monotonic() and (
                found.user_id is None or found.user_id == _user_id(identity.user)):
            session = self.runtime.sessions.get(found.session_id, found.owner)
        if found is None or session is None:
            raise AgentError(404, "unknown_code", "the attach code is unknown, used, expired, "
                             "or was issued to another user")
        self._forget_ended()
        if identity.owner != session.owner:
            self._guests.setdefault(session.id, _Guests(session.owner)).guests.add(
                identity.owner)
        self.touch(session)
        return session

    def _forget_expired(self, now: float) -> None:
        for key in [key for key, code in self._codes.items() if code.expires <= now]:
            del self._codes[key]

    def _forget_ended(self) -> None:
        sessions = self.runtime.sessions
        for session_id in [sid for sid, grant in self._guests.items()
                           if sessions.get(sid, grant.owner) is None]:
            del self._guests[session_id]


def _digest(code: str) -> bytes:
    """Codes are kept hashed: the table never holds a usable code."""
    return hashlib.sha256(code.encode()).digest()


def _user_id(user: Any) -> Any:
    return getattr(user, "id", None) if user is not None else None
