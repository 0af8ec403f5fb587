"""The records of authentication: users, login results, and requests to create or change users.

These are pydantic models, so they validate what comes from configuration or a database and
serialise to JSON for `/api/auth/me`. A password never appears in a model's repr.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused: hashing megabytes on request is a denial-of-service lever."""
MAX_USERNAME_LENGTH = 150


class User(BaseModel):
    """A signed-in user, as providers return it and as `current_user()` hands it to apps."""

    model_config = ConfigDict(extra="forbid")

    id: str
    username: str
    email: str | None = None
    roles: list[str] = Field(default_factory=list)
    is_admin: bool = False
    is_active: bool = True
    metadata: dict[str, Any] = Field(default_factory=dict)

    def has_role(self, role: str) -> bool:
        """Whether the user has `role` (admins are not treated specially here)."""
        return role in self.roles

    def has_any_role(self, *roles: str | Iterable[str]) -> bool:
        """Whether the user has at least one of `roles`: `has_any_role("a", "b")` or
        `has_any_role(["a", "b"])`."""
        return any(role in self.roles for role in _flatten(roles))

    def public(self) -> dict[str, Any]:
        """What the browser may see of the user: no metadata, which may hold private data."""
        return {"id": self.id, "username": self.username, "email": self.email,
                "roles": list(self.roles), "is_admin": self.is_admin}


def _flatten(roles: tuple[str | Iterable[str], ...]) -> list[str]:
    flat: list[str] = []
    for item in roles:
        if isinstance(item, str):
            flat.append(item)
        else:
            flat.extend(item)
    return flat


class AuthResult(BaseModel):
    """The outcome of `BaseAuthProvider.authenticate()`: a user, or a message saying why not."""

    success: bool
    user: User | None = None
    error: str | None = None

    @classmethod
    def ok(cls, user: User) -> AuthResult:
        return cls(success=True, user=user)

    @classmethod
    def fail(cls, error: str = "Invalid username or password") -> AuthResult:
        return cls(success=False, error=error)


def _check_roles(roles: list[str]) -> list[str]:
    for role in roles:
        if not role or not role.strip():
            raise ValueError("roles must be non-empty strings")
    return roles


class CreateUserRequest(BaseModel):
    """A new user for `DatabaseAuthProvider.create_user()`; passwords have at least 8 characters."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=MAX_USERNAME_LENGTH)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH,
                          repr=False)
    email: str | None = Field(default=None, max_length=320)
    roles: list[str] = Field(default_factory=list)
    is_admin: bool = False
    is_active: bool = True
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        if value != value.strip() or any(ord(ch) < 32 for ch in value):
            raise ValueError("username must not start or end with spaces or hold control "
                             "characters")
        return value

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return _check_roles(value)


class UpdateUserRequest(BaseModel):
    """Changes to a user; only the fields given are changed (see `model_fields_set`)."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=320)
    roles: list[str] | None = None
    is_admin: bool | None = None
    is_active: bool | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_roles(value)
