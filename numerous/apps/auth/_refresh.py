"""What the server keeps about refresh tokens: one record per token id, grouped in families.

A family is every refresh token descended from one login. Rotating a token revokes it and
records its successor; presenting a revoked token again means it was copied, so the whole
family is revoked (RFC 6819, section 5.2.2.3). Only token ids are stored, never tokens.
"""

from __future__ import annotations

import time
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

    def purge_expired(self) -> None:
        now = time.time()
        for jti, record in list(self._records.items()):
            if record.expires_at <= now:
                del self._records[jti]
