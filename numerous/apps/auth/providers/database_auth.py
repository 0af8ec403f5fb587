"""`DatabaseAuthProvider`: users and refresh tokens in SQLite or PostgreSQL (SQLAlchemy 2 async).

    provider = DatabaseAuthProvider(database_url="sqlite+aiosqlite:///./app_auth.db",
                                    jwt_secret=os.environ["NUMEROUS_JWT_SECRET"])
    await provider.create_user(CreateUserRequest(username="ann", password="a long password"))

Tables are created on first use. Passwords are hashed with argon2id (pwdlib); bcrypt hashes
imported from elsewhere still verify and are replaced by argon2id at the next login. Refresh
tokens are recorded by id, so signing out, disabling a user or changing a password revokes
them, and a refresh token presented twice revokes its whole sign-in. A sign-in that ended is
recorded too, so its access tokens are refused at once by every instance sharing the database.
Needs `pip install 'numerous-apps[auth-db]'`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from .._refresh import RefreshTokenRecord
from ..base import INVALID_CREDENTIALS, BaseAuthProvider, TokenStanding
from ..models import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    AuthResult,
    CreateUserRequest,
    UpdateUserRequest,
    User,
)
from ._hashing import StoredPasswords
from ._schema import Engines, Tables

_PURGE_EVERY = 3600.0
_CREATION_LOCK = int.from_bytes(b"numerous", "big")
"""The PostgreSQL advisory lock under which tables are created."""


class UserExistsError(ValueError):
    """A user with that username already exists."""


class DatabaseAuthProvider(BaseAuthProvider):
    """Users in a database: `sqlite+aiosqlite:///path.db` or `postgresql+asyncpg://...`.

    `table_prefix` (default `numerous_auth_`) and `schema` (PostgreSQL) place the tables;
    `engine_options` go to `create_async_engine`. Token options are those of
    `BaseAuthProvider` (`jwt_secret`, `access_token_lifetime`, ...).
    """

    def __init__(self, database_url: str, jwt_secret: str | None = None, *,
                 table_prefix: str = "numerous_auth_", schema: str | None = None,
                 engine_options: dict[str, Any] | None = None, **options: Any) -> None:
        super().__init__(jwt_secret=jwt_secret, **options)
        self.database_url = database_url
        self.tables = Tables(table_prefix, schema)
        self._engines = Engines(database_url, **(engine_options or {}))
        self._passwords = StoredPasswords()
        self._tables_ready = False
        self._last_purge = 0.0

    def __repr__(self) -> str:
        url = sa.make_url(self.database_url).render_as_string(hide_password=True)
        return f"DatabaseAuthProvider({url!r})"

    # --- engine and tables ------------------------------------------------------------------

    async def _engine(self) -> Any:
        engine = self._engines.current()
        if not self._tables_ready:
            async with self._engines.lock():
                if not self._tables_ready:
                    async with engine.begin() as conn:
                        await _lock_for_creation(conn)
                        await conn.run_sync(self.tables.metadata.create_all)
                    self._tables_ready = True
        return engine

    async def startup(self) -> None:
        self._engines.start()
        await self._engine()

    async def close(self) -> None:
        await self._engines.close()

    async def drop_tables(self) -> None:
        """Drop the provider's tables (for tests and teardown scripts)."""
        engine = self._engines.current()
        async with engine.begin() as conn:
            await conn.run_sync(self.tables.metadata.drop_all)
        self._tables_ready = False

    async def _execute(self, statement: Any) -> Any:
        engine = await self._engine()
        async with engine.begin() as conn:
            return await conn.execute(statement)

    async def _rows(self, statement: Any) -> list[Any]:
        engine = await self._engine()
        async with engine.connect() as conn:
            return list((await conn.execute(statement)).all())

    # --- BaseAuthProvider -------------------------------------------------------------------

    async def authenticate(self, username: str, password: str) -> AuthResult:
        users = self.tables.users
        rows = await self._rows(sa.select(users).where(users.c.username == username))
        row = rows[0] if rows else None
        if len(password) > MAX_PASSWORD_LENGTH:
            password = ""
        stored = row.password_hash if row is not None else None
        matches, rehashed = await asyncio.to_thread(self._passwords.verify, password, stored)
        if row is None or not matches:
            return AuthResult.fail(INVALID_CREDENTIALS)
        if rehashed is not None:
            await self._execute(sa.update(users).where(users.c.id == row.id)
                                .values(password_hash=rehashed, updated_at=time.time()))
        return AuthResult.ok(_user(row))

    async def get_user(self, user_id: str) -> User | None:
        users = self.tables.users
        rows = await self._rows(sa.select(users).where(users.c.id == user_id))
        return _user(rows[0]) if rows else None

    async def get_user_by_username(self, username: str) -> User | None:
        users = self.tables.users
        rows = await self._rows(sa.select(users).where(users.c.username == username))
        return _user(rows[0]) if rows else None

    # --- user management --------------------------------------------------------------------

    async def create_user(self, request: CreateUserRequest) -> User:
        """Add a user; raises UserExistsError if the username is taken."""
        now = time.time()
        password_hash = await asyncio.to_thread(self._passwords.hash, request.password)
        user = User(id=uuid.uuid4().hex, username=request.username, email=request.email,
                    roles=request.roles, is_admin=request.is_admin,
                    is_active=request.is_active, metadata=request.metadata)
        try:
            await self._execute(sa.insert(self.tables.users).values(
                id=user.id, username=user.username, email=user.email,
                password_hash=password_hash, roles=user.roles, is_admin=user.is_admin,
                is_active=user.is_active, profile=user.metadata, created_at=now,
                updated_at=now))
        except IntegrityError:
            raise UserExistsError(f"a user named {request.username!r} already exists") from None
        return user

    async def list_users(self, *, include_inactive: bool = True) -> list[User]:
        users = self.tables.users
        query = sa.select(users).order_by(users.c.username)
        if not include_inactive:
            query = query.where(users.c.is_active.is_(True))
        return [_user(row) for row in await self._rows(query)]

    async def update_user(self, user_id: str, changes: UpdateUserRequest | None = None,
                          **fields: Any) -> User | None:
        """Change the given fields (`update_user(id, roles=["editor"])`); None if no such user.
        Deactivating a user revokes their refresh tokens."""
        changes = changes or UpdateUserRequest(**fields)
        values = {("profile" if name == "metadata" else name): getattr(changes, name)
                  for name in changes.model_fields_set}
        if values:
            users = self.tables.users
            result = await self._execute(sa.update(users).where(users.c.id == user_id)
                                         .values(**values, updated_at=time.time()))
            if result.rowcount == 0:
                return None
        if changes.is_active is False:
            await self.revoke_user_tokens(user_id)
        return await self.get_user(user_id)

    async def disable_user(self, user_id: str) -> bool:
        return await self.update_user(user_id, is_active=False) is not None

    async def enable_user(self, user_id: str) -> bool:
        return await self.update_user(user_id, is_active=True) is not None

    async def delete_user(self, user_id: str) -> bool:
        tokens, users = self.tables.refresh_tokens, self.tables.users
        await self._execute(sa.delete(tokens).where(tokens.c.user_id == user_id))
        for table in (self.tables.revocations, self.tables.ended_sign_ins):
            await self._execute(sa.delete(table).where(table.c.user_id == user_id))
        result = await self._execute(sa.delete(users).where(users.c.id == user_id))
        self.end_sessions(user_id)
        return bool(result.rowcount)

    async def change_password(self, user_id: str, new_password: str, *,
                              current_password: str | None = None) -> bool:
        """Set a new password (at least 8 characters) and revoke the user's refresh tokens.
        With `current_password`, only if it is right. False if refused or no such user."""
        if not MIN_PASSWORD_LENGTH <= len(new_password) <= MAX_PASSWORD_LENGTH:
            raise ValueError(f"passwords have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} "
                             "characters")
        users = self.tables.users
        rows = await self._rows(sa.select(users.c.password_hash).where(users.c.id == user_id))
        if not rows:
            return False
        if current_password is not None:
            matches, _ = await asyncio.to_thread(self._passwords.verify, current_password,
                                                 rows[0].password_hash)
            if not matches:
                return False
        password_hash = await asyncio.to_thread(self._passwords.hash, new_password)
        await self._execute(sa.update(users).where(users.c.id == user_id)
                            .values(password_hash=password_hash, updated_at=time.time()))
        await self.revoke_user_tokens(user_id)
        return True

    # --- refresh token storage --------------------------------------------------------------

    async def save_refresh_token(self, record: RefreshTokenRecord) -> None:
        await self._execute(sa.insert(self.tables.refresh_tokens).values(
            jti=record.jti, family=record.family, user_id=record.user_id,
            expires_at=record.expires_at, revoked_at=record.revoked_at,
            replaced_by=record.replaced_by))
        if time.time() - self._last_purge > _PURGE_EVERY:
            await self.purge_expired_tokens()

    async def load_refresh_token(self, jti: str) -> RefreshTokenRecord | None:
        tokens = self.tables.refresh_tokens
        rows = await self._rows(sa.select(tokens).where(tokens.c.jti == jti))
        if not rows:
            return None
        row = rows[0]
        return RefreshTokenRecord(jti=row.jti, family=row.family, user_id=row.user_id,
                                  expires_at=row.expires_at, revoked_at=row.revoked_at,
                                  replaced_by=row.replaced_by)

    async def revoke_refresh_token(self, jti: str, replaced_by: str | None = None) -> bool:
        tokens = self.tables.refresh_tokens
        result = await self._execute(
            sa.update(tokens).where(tokens.c.jti == jti, tokens.c.revoked_at.is_(None))
            .values(revoked_at=time.time(), replaced_by=replaced_by))
        return bool(result.rowcount == 1)

    async def revoke_token_family(self, family: str) -> None:
        tokens = self.tables.refresh_tokens
        await self._execute(sa.update(tokens).where(tokens.c.family == family,
                                                    tokens.c.revoked_at.is_(None))
                            .values(revoked_at=time.time()))

    async def revoke_user_tokens(self, user_id: str) -> None:
        """Revoke every refresh token of the user, refuse the access tokens issued until now
        (on every instance sharing the database) and end their open sessions."""
        tokens, revocations = self.tables.refresh_tokens, self.tables.revocations
        now = time.time()
        engine = await self._engine()
        async with engine.begin() as conn:
            await conn.execute(sa.update(tokens).where(tokens.c.user_id == user_id,
                                                       tokens.c.revoked_at.is_(None))
                               .values(revoked_at=now))
            await conn.execute(sa.delete(revocations).where(revocations.c.user_id == user_id))
            await conn.execute(sa.insert(revocations).values(user_id=user_id, revoked_at=now))
        self.end_sessions(user_id)

    async def tokens_revoked_at(self, user_id: str) -> float | None:
        return (await self.user_and_revocation(user_id))[1]

    async def user_and_revocation(self, user_id: str) -> tuple[User | None, float | None]:
        standing = await self.token_standing(user_id, None)
        return standing.user, standing.revoked_at

    async def token_standing(self, user_id: str, sid: str | None) -> TokenStanding:
        """The user, their revocation and whether `sid` ended: one query, two outer joins."""
        users, revocations = self.tables.users, self.tables.revocations
        ended = self.tables.ended_sign_ins
        ended_here = (sa.and_(ended.c.sid == sid, ended.c.user_id == users.c.id)
                      if sid is not None else sa.false())
        query = (sa.select(users, revocations.c.revoked_at,
                           ended.c.expires_at.label("sign_in_ended_until"))
                 .select_from(users.outerjoin(revocations, revocations.c.user_id == users.c.id)
                              .outerjoin(ended, ended_here))
                 .where(users.c.id == user_id))
        rows = await self._rows(query)
        if not rows:
            return TokenStanding(None)
        row = rows[0]
        until = row.sign_in_ended_until
        return TokenStanding(_user(row),
                             float(row.revoked_at) if row.revoked_at is not None else None,
                             until is not None and until > time.time())

    async def record_ended_sign_in(self, sid: str, user_id: str, until: float) -> None:
        ended = self.tables.ended_sign_ins
        try:
            await self._execute(sa.insert(ended).values(sid=sid, user_id=user_id,
                                                        ended_at=time.time(), expires_at=until))
        except IntegrityError:  # ended twice (a sign-out racing a reuse): keep the later end
            await self._execute(sa.update(ended).where(ended.c.sid == sid,
                                                       ended.c.expires_at < until)
                                .values(expires_at=until))

    async def sign_in_ended(self, sid: str) -> bool:
        ended = self.tables.ended_sign_ins
        rows = await self._rows(sa.select(ended.c.sid).where(
            ended.c.sid == sid, ended.c.expires_at > time.time()))
        return bool(rows)

    async def purge_expired_tokens(self, now: float | None = None) -> int:
        """Delete the records of refresh tokens that have expired, and of ended sign-ins
        whose access tokens have all expired; returns how many."""
        self._last_purge = time.time()
        cutoff = self._last_purge if now is None else now
        purged = 0
        for table in (self.tables.refresh_tokens, self.tables.ended_sign_ins):
            result = await self._execute(sa.delete(table).where(table.c.expires_at < cutoff))
            purged += int(result.rowcount)
        return purged


async def _lock_for_creation(conn: Any) -> None:
    """On PostgreSQL, one process at a time creates tables: instances started together on a
    new database would otherwise all find no tables, all create them, and all but one fail.
    The lock ends with the transaction."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": _CREATION_LOCK})


def _user(row: Any) -> User:
    return User(id=row.id, username=row.username, email=row.email, roles=list(row.roles or []),
                is_admin=bool(row.is_admin), is_active=bool(row.is_active),
                metadata=dict(row.profile or {}))
