"""What an OpenID Connect sign-in decides: the user the provider vouches for, or why not.

`OIDCSignIn` holds one provider's configuration (its client, the claim mapping, the
allow-list) and where the users it signed in are kept (`_oidc_users`). `OIDCAuthProvider` answers the
framework's questions from it; the routes drive it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..models import User
from ._oidc_claims import AllowList, ClaimMapping
from ._oidc_client import OIDCClient
from ._oidc_flow import SpentFlows

logger = logging.getLogger("numerous.apps.auth")


class Users(Protocol):
    """Where signed-in users are kept (`_oidc_users`: in memory, or in a user store)."""

    async def remember(self, user: User) -> User: ...

    async def get(self, user_id: str) -> User | None: ...

    async def by_username(self, username: str) -> User | None: ...


@dataclass
class OIDCSignIn:
    client: OIDCClient
    claims: ClaimMapping
    allow_list: AllowList
    label: str
    name: str
    users: Users
    redirect_uri: str | None = None
    post_logout_redirect_uri: str | None = None
    provider_logout: bool = True
    spent_flows: SpentFlows = field(default_factory=SpentFlows)
    """Shared by every route set of the provider (an app's and combine_apps' root)."""
    _id_tokens: dict[str, str] = field(default_factory=dict)

    def is_own(self, user: User) -> bool:
        """Whether this provider signed the user in (not a password provider)."""
        return user.metadata.get("provider") == self.name

    async def sign_in_with_code(self, code: str, redirect_uri: str, verifier: str,
                                nonce: str) -> User | str:
        """The user the provider vouches for, or a message saying why they may not come in.

        Raises OIDCError for anything wrong with the exchange or the ID token."""
        tokens = await self.client.exchange(code, redirect_uri, verifier, nonce)
        claims = await self._with_userinfo(tokens.id_claims, tokens.access_token)
        user = self.claims.user(self.name, claims)
        if not self.allow_list.allows(user, claims):
            logger.warning("OpenID user %r (%s) is not on the allow-list", user.username,
                           user.email)
            return (f"{user.email or user.username} may not sign in to this app. Ask its "
                    "administrator for access, or sign in with another account.")
        user = await self.users.remember(user)
        self._id_tokens[user.id] = tokens.id_token
        return user

    async def _with_userinfo(self, claims: dict[str, Any],
                             access_token: str | None) -> dict[str, Any]:
        """The ID token's claims, completed from userinfo when they lack an email or roles
        (many providers keep those out of the ID token)."""
        if not self.claims.lacks(claims) or access_token is None:
            return claims
        extra = await self.client.userinfo(access_token)
        if extra and extra.get("sub") != claims["sub"]:
            logger.warning("userinfo answered for another subject; ignored")
            return claims
        return {**extra, **claims}

    def forget_id_token(self, user_id: str) -> str | None:
        """The ID token of the user's last sign-in (the hint for the provider's sign-out)."""
        return self._id_tokens.pop(user_id, None)
