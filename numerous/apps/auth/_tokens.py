"""Access and refresh tokens: JSON Web Tokens signed with HS256, issued and verified here only.

Verification names its one algorithm explicitly, so `alg: none` and any other algorithm are
refused, and it checks the signature, the expiry and the token's `type`, so a refresh token
can never stand in for an access token or the other way round. Each token names its sign-in
(`sid`, the refresh-token family born at one login), so that signing out ends every token of
that sign-in, and only those.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import jwt

from .models import User

logger = logging.getLogger("numerous.apps.auth")

ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32
"""Bytes of secret HS256 needs to be as strong as its hash (RFC 7518, section 3.2)."""
SHORTEST_SECRET = 16
"""Bytes below which production (`dev=False`) refuses a secret: it could be guessed offline
from any one token, and then sign-ins forged."""

TokenType = Literal["access", "refresh"]


class Claims(TypedDict):
    sub: str
    username: str
    type: TokenType
    iat: float
    """Issued at, with milliseconds: a token issued just before a revocation is told apart
    from one issued just after it."""
    exp: int
    jti: str
    sid: str | None
    """The sign-in the token belongs to (its refresh-token family); None in a token issued
    without one (by an older version), which then ends only when it expires."""


@dataclass(frozen=True)
class IssuedToken:
    """A freshly signed token and what the server keeps of it (never the token itself)."""

    token: str = field(repr=False)
    jti: str
    expires_at: int


class TokenIssuer:
    """Signs and verifies the two kinds of token with one secret."""

    def __init__(self, secret: str, *, access_lifetime: float, refresh_lifetime: float) -> None:
        if not secret:
            raise ValueError("the JWT secret must not be empty")
        self._secret = secret
        self.access_lifetime = max(1, int(access_lifetime))
        self.refresh_lifetime = max(1, int(refresh_lifetime))

    def issue(self, user: User, kind: TokenType, now: float | None = None, *,
              sid: str | None = None) -> IssuedToken:
        issued = time.time() if now is None else now
        lifetime = self.access_lifetime if kind == "access" else self.refresh_lifetime
        claims: Claims = {"sub": user.id, "username": user.username, "type": kind,
                          "iat": round(issued, 3), "exp": int(issued) + lifetime,
                          "jti": secrets.token_urlsafe(16), "sid": sid}
        payload = {name: value for name, value in claims.items() if value is not None}
        token = jwt.encode(payload, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, claims["jti"], claims["exp"])

    def verify(self, token: str, kind: TokenType) -> Claims | None:
        """The token's claims if it is genuine, unexpired and of `kind`; otherwise None."""
        if not token or len(token) > 4096:
            return None
        try:
            payload = jwt.decode(token, self._secret, algorithms=[ALGORITHM],
                                 options={"require": ["sub", "type", "iat", "exp", "jti"]})
        except jwt.PyJWTError:
            return None
        if payload.get("type") != kind:
            return None
        if not all(isinstance(payload.get(k), str) for k in ("sub", "username", "jti")):
            return None
        sid = payload.get("sid")
        if sid is not None and not isinstance(sid, str):
            return None
        return Claims(sub=payload["sub"], username=payload["username"], type=kind,
                      iat=float(payload["iat"]), exp=int(payload["exp"]), jti=payload["jti"],
                      sid=sid)


_generated_secret: str | None = None


def generated_secret() -> str:
    """A random secret for development, the same for every provider of this process, so that
    a dev-mode reload of the app module does not sign everyone out."""
    global _generated_secret
    if _generated_secret is None:
        _generated_secret = secrets.token_hex(32)
    return _generated_secret
