"""Where the users an OpenID provider signed in are kept.

`MemoryUsers`: in this process, as they sign in (one instance; a restart asks for a sign-in
again). `StoredUsers`: in the user table of a `DatabaseAuthProvider`, shared by every
instance, where an administrator can also disable one. A stored user's username there is
`<provider name>:<sub>` (so no OpenID user can take over a password user's name); the name
the app sees is the mapped one, kept in the user's metadata.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Protocol

from ..models import MAX_USERNAME_LENGTH, CreateUserRequest, UpdateUserRequest, User


class UserTable(Protocol):
    """What `StoredUsers` needs of a user store (`DatabaseAuthProvider` has it)."""

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None: ...

    async def create_user(self, request: CreateUserRequest) -> User: ...

    async def update_user(self, user_id: str, changes: UpdateUserRequest | None = None,
                          **fields: Any) -> User | None: ...


class MemoryUsers:
    def __init__(self, name: str) -> None:
        self.name = name
        self._users: dict[str, User] = {}

    async def remember(self, user: User) -> User:
        self._users[user.id] = user
        return user

    async def get(self, user_id: str) -> User | None:
        return self._users.get(user_id) if user_id.startswith(f"{self.name}:") else None

    async def by_username(self, username: str) -> User | None:
        return next((u for u in self._users.values() if u.username == username), None)


class StoredUsers:
    def __init__(self, name: str, table: UserTable) -> None:
        self.name = name
        self.table = table

    async def remember(self, user: User) -> User:
        """Create or update the stored user from this sign-in's claims (the provider is the
        source of truth for email, roles and admin); an administrator's `is_active` stays."""
        key = self._key(user)
        fields: dict[str, Any] = {
            "email": user.email, "roles": user.roles, "is_admin": user.is_admin,
            "metadata": {**user.metadata, "username": user.username}}
        found = await self.table.get_user_by_username(key)
        if found is None:
            try:
                found = await self.table.create_user(CreateUserRequest(
                    username=key, password=secrets.token_urlsafe(32), **fields))
            except ValueError:  # another instance created them a moment ago
                found = await self.table.get_user_by_username(key)
        stored = (await self.table.update_user(found.id, UpdateUserRequest(**fields))
                  if found is not None else None)
        if stored is None:
            raise RuntimeError(f"the user store lost the user {key!r}")
        return self._presented(stored)

    async def get(self, user_id: str) -> User | None:
        user = await self.table.get_user(user_id)
        return self._presented(user) if user is not None and self._own(user) else None

    async def by_username(self, username: str) -> User | None:
        return None  # stored under their subject, not their name: not found by name

    def _key(self, user: User) -> str:
        key = f"{self.name}:{user.metadata['claims']['sub']}"
        if len(key) > MAX_USERNAME_LENGTH:
            key = f"{self.name}:{hashlib.sha256(key.encode()).hexdigest()}"
        return key

    def _own(self, user: User) -> bool:
        return user.metadata.get("provider") == self.name and user.username.startswith(
            f"{self.name}:")

    def _presented(self, user: User) -> User:
        return user.model_copy(update={"username": user.metadata.get("username",
                                                                     user.username)})
