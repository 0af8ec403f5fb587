"""Hashes of stored passwords: pwdlib's argon2id for new ones; bcrypt hashes (from older
systems) still verify and are replaced by argon2id at the next successful login.

A check without a stored hash runs against a dummy hash, so a login for a username that does
not exist costs as much as one that does.
"""

from __future__ import annotations

import secrets
from typing import Any

try:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher
    from pwdlib.hashers.bcrypt import BcryptHasher
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("DatabaseAuthProvider needs pwdlib with argon2 and bcrypt: "
                      "pip install 'numerous-apps[auth-db]'") from exc


class StoredPasswords:
    """argon2id for new hashes, bcrypt accepted (see the module docstring)."""

    def __init__(self) -> None:
        self._hash: Any = PasswordHash((Argon2Hasher(), BcryptHasher()))
        self._dummy = self._hash.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return str(self._hash.hash(password))

    def verify(self, password: str, stored: str | None) -> tuple[bool, str | None]:
        """(matches, new hash to store or None). `stored=None` checks the dummy hash, at the
        same cost, and never matches."""
        try:
            ok, updated = self._hash.verify_and_update(password, stored or self._dummy)
        except Exception:  # noqa: BLE001 - unknown hash format, or bcrypt's 72-byte limit
            return False, None
        if stored is None:
            return False, None
        return bool(ok), updated
