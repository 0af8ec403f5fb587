"""The tables of DatabaseAuthProvider, and the engines that reach them.

Tables are SQLAlchemy Core: one for users, one for refresh token records (ids only, never
tokens), one for when each user was last signed out everywhere, and one for sign-ins that
ended (signed out, or a refresh token reused) while their access tokens may still be
presented. A name prefix (and, on PostgreSQL, a schema) lets several apps or test runs share a
database.

Connections are pooled only on the event loop that serves the app (between the app's start-up
and shutdown). Anything before that, such as `asyncio.run(create_users())` in a setup script,
uses a connection for one operation and closes it, so no pooled connection is ever left behind
on an event loop that has ended.
"""

from __future__ import annotations

import asyncio
from typing import Any
from weakref import WeakKeyDictionary

try:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
    from sqlalchemy.pool import NullPool, StaticPool
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("DatabaseAuthProvider needs SQLAlchemy 2 with asyncio and a driver: "
                      "pip install 'numerous-apps[auth-db]'") from exc


class Tables:
    def __init__(self, prefix: str, schema: str | None) -> None:
        self.metadata = sa.MetaData(schema=schema)
        self.users = sa.Table(
            f"{prefix}users", self.metadata,
            sa.Column("id", sa.String(64), primary_key=True),
            sa.Column("username", sa.String(150), nullable=False, unique=True),
            sa.Column("email", sa.String(320), nullable=True),
            sa.Column("password_hash", sa.String(255), nullable=False),
            sa.Column("roles", sa.JSON, nullable=False),
            sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
            sa.Column("is_active", sa.Boolean, nullable=False, default=True),
            sa.Column("profile", sa.JSON, nullable=False),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("updated_at", sa.Float, nullable=False),
        )
        self.refresh_tokens = sa.Table(
            f"{prefix}refresh_tokens", self.metadata,
            sa.Column("jti", sa.String(64), primary_key=True),
            sa.Column("family", sa.String(64), nullable=False, index=True),
            sa.Column("user_id", sa.String(64), nullable=False, index=True),
            sa.Column("expires_at", sa.Float, nullable=False, index=True),
            sa.Column("revoked_at", sa.Float, nullable=True),
            sa.Column("replaced_by", sa.String(64), nullable=True),
        )
        self.revocations = sa.Table(
            f"{prefix}revocations", self.metadata,
            sa.Column("user_id", sa.String(64), primary_key=True),
            sa.Column("revoked_at", sa.Float, nullable=False),
        )
        self.ended_sign_ins = sa.Table(
            f"{prefix}ended_sign_ins", self.metadata,
            sa.Column("sid", sa.String(64), primary_key=True),
            sa.Column("user_id", sa.String(64), nullable=False, index=True),
            sa.Column("ended_at", sa.Float, nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False, index=True),
        )


class Engines:
    """A pooled engine for the serving event loop; a connection per operation elsewhere."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.options = options
        self.memory = _is_memory_sqlite(url)
        self._serving: tuple[asyncio.AbstractEventLoop, AsyncEngine] | None = None
        self._single_use: AsyncEngine | None = None
        self._locks: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            WeakKeyDictionary())

    def current(self) -> AsyncEngine:
        loop = asyncio.get_running_loop()
        if self._serving is not None and self._serving[0] is loop:
            return self._serving[1]
        if self._single_use is None:
            # An in-memory SQLite database lives in its one connection, so it is kept.
            pool = StaticPool if self.memory else NullPool
            self._single_use = create_async_engine(self.url, poolclass=pool, **self.options)
        return self._single_use

    def lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def start(self) -> None:
        """Pool connections on the running loop (the app's) until `close()`."""
        if self._serving is None and not self.memory:
            engine = create_async_engine(self.url, pool_pre_ping=True, **self.options)
            self._serving = (asyncio.get_running_loop(), engine)

    async def close(self) -> None:
        serving, self._serving = self._serving, None
        if serving is not None:
            await serving[1].dispose()
        if self._single_use is not None and self.memory:
            single_use, self._single_use = self._single_use, None
            await single_use.dispose()


def _is_memory_sqlite(url: str) -> bool:
    parsed = sa.make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
