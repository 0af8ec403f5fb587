"""`EnvAuthProvider`: users from the `NUMEROUS_AUTH_USERS` environment variable.

    export NUMEROUS_JWT_SECRET="$(python -c 'import secrets; print(secrets.token_hex(32))')"
    export NUMEROUS_AUTH_USERS='[
        {"username": "admin", "password": "admin123", "is_admin": true},
        {"username": "ann", "password": "annpass123", "roles": ["viewer"]}]'

Passwords are hashed (scrypt) when the provider is created and the plain text is not kept.
Refresh tokens, and the sign-ins that were signed out, are kept in memory: a restart signs
everyone out when their access token runs out, and a sign-out holds at once only in this
process. For many users, user management or several server processes, use
DatabaseAuthProvider.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .._passwords import scrypt_hash, scrypt_verify
from ..base import INVALID_CREDENTIALS, BaseAuthProvider
from ..models import MAX_PASSWORD_LENGTH, AuthResult, User

logger = logging.getLogger("numerous.apps.auth")

USERS_ENV = "NUMEROUS_AUTH_USERS"
_FIELDS = {"username": str, "password": str, "is_admin": bool, "roles": list, "email": str}
_REQUIRED = ("username", "password")


class AuthConfigError(ValueError):
    """The users configuration cannot be used; the message says which entry and field."""


class EnvAuthProvider(BaseAuthProvider):
    """Users configured in an environment variable (a JSON list), for development or a few
    fixed accounts. Each entry: `username`, `password` (required), `is_admin`, `roles`, `email`.

    `users=[...]` gives the same list in code instead (handy in tests). Token options are those
    of `BaseAuthProvider` (`jwt_secret`, `access_token_lifetime`, ...).
    """

    def __init__(self, *, users: Sequence[Mapping[str, Any]] | None = None,
                 users_env: str = USERS_ENV, **options: Any) -> None:
        super().__init__(**options)
        entries = _entries_from_env(users_env) if users is None else list(users)
        source = users_env if users is None else "users"
        self._users: dict[str, User] = {}
        self._hashes: dict[str, str] = {}
        for index, entry in enumerate(entries, start=1):
            user, password = _parse_entry(entry, index, source)
            if user.username in self._users:
                raise AuthConfigError(f"{source} entry {index}: the username "
                                      f"{user.username!r} appears more than once")
            self._users[user.username] = user
            self._hashes[user.username] = scrypt_hash(password)
        self._dummy_hash = scrypt_hash(os.urandom(16).hex())
        if not self._users:
            logger.warning("EnvAuthProvider: %s is not set or empty; nobody can sign in",
                           source)

    async def authenticate(self, username: str, password: str) -> AuthResult:
        user = self._users.get(username)
        stored = self._hashes.get(username, self._dummy_hash)
        if len(password) > MAX_PASSWORD_LENGTH:
            password = ""
        matches = await asyncio.to_thread(scrypt_verify, password, stored)
        if user is None or not matches:
            return AuthResult.fail(INVALID_CREDENTIALS)
        return AuthResult.ok(user)

    async def get_user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    async def get_user_by_username(self, username: str) -> User | None:
        return self._users.get(username)

    def list_users(self) -> list[User]:
        return list(self._users.values())


def _entries_from_env(name: str) -> list[Any]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return []
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise AuthConfigError(f"{name} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                              f"column {exc.colno}); expected a list such as "
                              '[{"username": "admin", "password": "..."}]') from None
    if not isinstance(entries, list):
        raise AuthConfigError(f"{name} must be a JSON list of users, not a "
                              f"{type(entries).__name__}")
    return entries


def _parse_entry(entry: Any, index: int, source: str) -> tuple[User, str]:
    where = f"{source} entry {index}"
    if not isinstance(entry, Mapping):
        raise AuthConfigError(f"{where} must be an object with username and password, not a "
                              f"{type(entry).__name__}")
    if isinstance(entry.get("username"), str) and entry["username"].strip():
        where += f" (username {entry['username']!r})"
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise AuthConfigError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; "
                              f"allowed: {', '.join(_FIELDS)}")
    for name in _REQUIRED:
        if name not in entry:
            raise AuthConfigError(f"{where}: the field {name!r} is missing")
    for name, kind in _FIELDS.items():
        if name in entry and not isinstance(entry[name], kind):
            raise AuthConfigError(f"{where}: {name!r} must be a {_KIND_NAMES[kind]}")
    return _user(entry, where), entry["password"]


_KIND_NAMES = {str: "string", bool: "boolean (true or false)", list: "list of strings"}


def _user(entry: Mapping[str, Any], where: str) -> User:
    username = entry["username"].strip()
    if not username or username != entry["username"]:
        raise AuthConfigError(f"{where}: 'username' must be a non-empty string without "
                              "surrounding spaces")
    if not entry["password"]:
        raise AuthConfigError(f"{where}: 'password' must not be empty")
    roles = entry.get("roles", [])
    if not all(isinstance(role, str) and role.strip() for role in roles):
        raise AuthConfigError(f"{where}: 'roles' must be a list of non-empty strings")
    return User(id=username, username=username, email=entry.get("email"), roles=list(roles),
                is_admin=entry.get("is_admin", False))
