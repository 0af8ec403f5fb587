"""Password hashing: scrypt from the standard library for passwords held in memory, and pwdlib
(argon2id, with bcrypt hashes still accepted) for passwords stored in a database.

Both compare in constant time, and both can check a password against a dummy hash, so that a
login for a username that does not exist costs as much as one that does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

try:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher
    from pwdlib.hashers.bcrypt import BcryptHasher
except ImportError:  # pragma: no cover - depends on the installed extras
    PasswordHash = None

_SCRYPT_N = 2**14
_SCRYPT_R = 8
_SCRYPT_P = 1


def scrypt_hash(password: str) -> str:
    """A salted scrypt hash, `scrypt$n$r$p$salt$hash` (base64)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
                     _b64(salt), _b64(digest)])


def scrypt_verify(password: str, encoded: str) -> bool:
    try:
        kind, n, r, p, salt, expected = encoded.split("$")
        if kind != "scrypt":
            return False
        digest = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p,
                          maxmem=64 * 1024 * 1024, dklen=32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StoredPasswords:
    """pwdlib's argon2id for new hashes; bcrypt hashes (from older systems) still verify and
    are replaced by argon2id on the next successful login."""

    def __init__(self) -> None:
        if PasswordHash is None:  # pragma: no cover - depends on the installed extras
            raise ImportError("DatabaseAuthProvider needs pwdlib with argon2 and bcrypt: "
                              "pip install 'numerous-apps[auth-db]'")
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
