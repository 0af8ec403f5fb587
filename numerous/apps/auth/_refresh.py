"""What the server keeps about refresh tokens: one record per token id, grouped in families.

A family is every refresh token descended from one login. Rotating a token revokes it and
records its successor; presenting a revoked token again means it was copied, so the whole
family is revoked (RFC 6819, section 5.2.2.3). Only token ids are stored, never tokens.

A family is also a sign-in: its access tokens carry its id (`sid`). Signing out, or a reuse,
*ends* the sign-in: it is remembered as ended until the last access token it could have issued
has expired, and every request carrying one of them is refused meanwhile.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class RefreshTokenRecord:
    jti: str
    family: str
    user_id: str
    expires_at: float
    revoked_at: float | None = None
    replaced_by: str | None = None
    """The id of the token that replaced this one when it was rotated (None: revoked outright)."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > time.time()


class MemoryRefreshStore:
    """Refresh token records in a dict: enough for one process (EnvAuthProvider, custom
    providers). A restart forgets them, which signs everyone out when their access expires."""

    def __init__(self, max_records: int = 100_000) -> None:
        self._records: dict[str, RefreshTokenRecord] = {}
        self._max_records = max_records
        self.revoked_at: dict[str, float] = {}
        """When each user was last signed out everywhere (`revoke_user`)."""
        self.ended: OrderedDict[str, float] = OrderedDict()
        """Ended sign-ins, and until when their access tokens might still be presented."""

    async def save(self, record: RefreshTokenRecord) -> None:
        if len(self._records) >= self._max_records:
            self.purge_expired()
        self._records[record.jti] = record

    async def load(self, jti: str) -> RefreshTokenRecord | None:
        return self._records.get(jti)

    async def revoke(self, jti: str, replaced_by: str | None = None) -> bool:
        """Revoke one token; True only for the caller that found it still active."""
        record = self._records.get(jti)
        if record is None or record.revoked_at is not None:
            return False
        self._records[jti] = replace(record, revoked_at=time.time(), replaced_by=replaced_by)
        return True

    async def revoke_family(self, family: str) -> None:
        now = time.time()
        for jti, record in list(self._records.items()):
            if record.family == family and record.revoked_at is None:
                self._records[jti] = replace(record, revoked_at=now)

    async def revoke_user(self, user_id: str) -> None:
        now = time.time()
        self.revoked_at[user_id] = now
        for jti, record in list(self._records.items()):
            if record.user_id == user_id and record.revoked_at is None:
                self._records[jti] = replace(record, revoked_at=now)

    async def end_sign_in(self, sid: str, until: float) -> None:
        """Remember `sid` as ended until `until`, forgetting those whose time has passed."""
        now = time.time()
        while self.ended and next(iter(self.ended.values())) <= now:
            self.ended.popitem(last=False)
        self.ended.pop(sid, None)
        self.ended[sid] = until
        if len(self.ended) > self._max_records:
            self.ended.popitem(last=False)

    async def sign_in_ended(self, sid: str) -> bool:
        until = self.ended.get(sid)
        return until is not None and until > time.time()

    def purge_expired(self) -> None:
        now = time.time()
        for jti, record in list(self._records.items()):
            if record.expires_at <= now:
                del self._records[jti]


class SignInBrowsers:
    """Which browsers (client cookies) each sign-in was used from, in this process, so that
    ending a sign-in can close its open sessions, also in a browser its tokens were copied
    to. The most recently used `max_sign_ins` are kept, each with up to `per_sign_in`."""

    def __init__(self, max_sign_ins: int = 20_000, per_sign_in: int = 8) -> None:
        self._browsers: OrderedDict[str, list[str]] = OrderedDict()
        self._max_sign_ins = max_sign_ins
        self._per_sign_in = per_sign_in

    def seen(self, sid: str, browser: str) -> None:
        browsers = self._browsers.pop(sid, [])
        if browser in browsers:
            browsers.remove(browser)
        browsers.append(browser)
        self._browsers[sid] = browsers[-self._per_sign_in:]
        if len(self._browsers) > self._max_sign_ins:
            self._browsers.popitem(last=False)

    def forget(self, sid: str) -> list[str]:
        """The browsers `sid` was used from, which are then forgotten."""
        return self._browsers.pop(sid, [])
