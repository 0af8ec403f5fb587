"""From an OpenID provider's claims to a `User`, and who of the organisation may come in.

Providers put the same facts in different claims: Entra ID sends app roles in `roles`, Okta
groups in `groups`, Keycloak realm roles in `realm_access.roles`, Auth0 in a namespaced claim
of your choosing. `ClaimMapping` says where to look (dotted paths reach into objects);
`AllowList` says who gets in at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..models import User


@dataclass(frozen=True)
class ClaimMapping:
    """Which claims give the user's username, display name, email, roles and admin flag.

    Each field lists claims tried in order (the first present wins), except `roles`, whose
    claims are all read and merged. A user with any of `admin_roles` is an admin.
    """

    username: tuple[str, ...] = ("preferred_username", "email", "sub")
    display_name: tuple[str, ...] = ("name", "preferred_username")
    email: tuple[str, ...] = ("email",)
    roles: tuple[str, ...] = ("roles", "groups")
    admin_roles: tuple[str, ...] = ()

    def user(self, provider_name: str, claims: Mapping[str, Any]) -> User:
        """The user these claims describe; their id is stable per provider and subject."""
        roles = self.roles_of(claims)
        email = _first(claims, self.email)
        return User(
            id=f"{provider_name}:{claims['sub']}",
            username=_first(claims, self.username) or str(claims["sub"]),
            email=email,
            roles=roles,
            is_admin=any(role in roles for role in self.admin_roles),
            metadata={"display_name": _first(claims, self.display_name),
                      "provider": provider_name, "claims": dict(claims)})

    def roles_of(self, claims: Mapping[str, Any]) -> list[str]:
        found: list[str] = []
        for path in self.roles:
            for role in _strings(claim(claims, path)):
                if role not in found:
                    found.append(role)
        return found

    def lacks(self, claims: Mapping[str, Any]) -> bool:
        """Whether the claims miss an email or every roles claim (then userinfo is asked)."""
        return not any(claim(claims, path) is not None for path in self.email) or (
            bool(self.roles) and not any(claim(claims, path) is not None
                                         for path in self.roles))


@dataclass(frozen=True)
class AllowList:
    """Who may sign in: anyone (all empty), or users matching any one entry.

    `emails` and `domains` are compared case-insensitively, and only for an email the
    provider has not marked unverified (`email_verified: false`); `groups` match the user's
    roles as mapped.
    """

    emails: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    @classmethod
    def of(cls, emails: Iterable[str] = (), domains: Iterable[str] = (),
           groups: Iterable[str] = ()) -> AllowList:
        return cls(tuple(e.strip().lower() for e in emails if e.strip()),
                   tuple(d.strip().lower().lstrip("@") for d in domains if d.strip()),
                   tuple(g.strip() for g in groups if g.strip()))

    @property
    def open(self) -> bool:
        return not (self.emails or self.domains or self.groups)

    def allows(self, user: User, claims: Mapping[str, Any]) -> bool:
        if self.open:
            return True
        if any(role in self.groups for role in user.roles):
            return True
        email = (user.email or "").lower()
        if not email or claims.get("email_verified") is False:
            return False
        return email in self.emails or email.rpartition("@")[2] in self.domains


def claim(claims: Mapping[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (`realm_access.roles`).

    A claim whose own name holds dots (Auth0's `https://example.com/roles`) is found whole.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _first(claims: Mapping[str, Any], paths: Iterable[str]) -> str | None:
    for path in paths:
        value = claim(claims, path)
        if isinstance(value, str) and value:
            return value
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part for part in value.split() if part]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item]
    return []
