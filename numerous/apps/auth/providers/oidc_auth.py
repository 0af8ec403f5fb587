"""`OIDCAuthProvider`: single sign-on with any OpenID Connect provider (Entra ID, Google, Okta,
Auth0, Keycloak, ...).

    export NUMEROUS_JWT_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    export NUMEROUS_OIDC_ISSUER=https://keycloak.example.com/realms/acme
    export NUMEROUS_OIDC_CLIENT_ID=numerous-app
    export NUMEROUS_OIDC_CLIENT_SECRET=...
    export NUMEROUS_OIDC_ALLOW_DOMAINS=acme.com

    app = create_app(..., auth_provider=OIDCAuthProvider(label="Acme"))

The login page then shows "Sign in with Acme"; the provider signs the user in (authorization
code flow with PKCE, state and nonce), and the framework takes over with its own access and
refresh cookies, as for any provider: refresh, revocation, roles and `current_user()` work the
same. The user's claims are in `current_user().metadata["claims"]`. Needs the `oidc` extra.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._options import AuthAPI, LoginOption, RouteSpec
from .._refresh import RefreshTokenRecord
from ..base import BaseAuthProvider
from ..models import AuthResult, User
from ._oidc_claims import AllowList, ClaimMapping
from ._oidc_client import OIDCClient, OIDCError
from ._oidc_routes import START, OIDCRoutes
from ._oidc_signin import OIDCSignIn
from ._oidc_users import MemoryUsers, StoredUsers

if TYPE_CHECKING:
    import httpx2 as httpx

    from .database_auth import DatabaseAuthProvider

__all__ = ["AllowList", "ClaimMapping", "OIDCAuthProvider", "OIDCError"]

logger = logging.getLogger("numerous.apps.auth")

ENV_PREFIX = "NUMEROUS_OIDC_"


class OIDCAuthProvider(BaseAuthProvider):
    """Users signed in by an OpenID Connect provider.

    Each option falls back to an environment variable (`NUMEROUS_OIDC_` + its name in
    capitals): `issuer`, `client_id`, `client_secret`, `redirect_uri`, `label`, and the
    allow-list (`allow_emails`, `allow_domains`, `allow_groups`: comma-separated there).

    - `claims`: a `ClaimMapping`, where username, email, roles and admin come from.
    - `allow_*`: only these emails, email domains or groups (mapped roles) get in; anyone the
      provider signs in when all are empty.
    - `password_provider`: another provider (`EnvAuthProvider`, `DatabaseAuthProvider`) whose
      users sign in with the password form on the same login page.
    - `provider_logout`: signing out also signs out at the provider, if it supports
      RP-initiated logout (True by default); `post_logout_redirect_uri` is where it sends the
      browser back to (default: the app's login page; register it with the provider).
    - `name`: prefixes user ids (`oidc:<sub>`), so users of two providers never collide.
    - `user_store`: a `DatabaseAuthProvider` that keeps the users, their refresh tokens and
      revocations, for several instances (and restarts). Without one, they are kept in this
      process's memory: after a restart, or on another instance, a browser signs in again
      (one click while the OpenID provider remembers it). It may be the `password_provider`.

    Token options are those of `BaseAuthProvider`.
    """

    def __init__(self, *, issuer: str | None = None, client_id: str | None = None,
                 client_secret: str | None = None, scopes: str = "openid email profile",
                 claims: ClaimMapping | None = None, allow_emails: Iterable[str] | None = None,
                 allow_domains: Iterable[str] | None = None,
                 allow_groups: Iterable[str] | None = None, label: str | None = None,
                 name: str = "oidc", redirect_uri: str | None = None,
                 post_logout_redirect_uri: str | None = None, provider_logout: bool = True,
                 password_provider: BaseAuthProvider | None = None,
                 user_store: DatabaseAuthProvider | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> None:
        super().__init__(**options)
        issuer = issuer or _env("ISSUER")
        client_id = client_id or _env("CLIENT_ID")
        if not issuer or not client_id:
            raise ValueError(f"OIDCAuthProvider needs an issuer and a client id: pass issuer= "
                             f"and client_id=, or set {ENV_PREFIX}ISSUER and "
                             f"{ENV_PREFIX}CLIENT_ID")
        self.oidc = OIDCSignIn(
            OIDCClient(issuer, client_id, client_secret or _env("CLIENT_SECRET"),
                       scopes=scopes, transport=transport),
            claims or ClaimMapping(),
            AllowList.of(_listed(allow_emails, "ALLOW_EMAILS"),
                         _listed(allow_domains, "ALLOW_DOMAINS"),
                         _listed(allow_groups, "ALLOW_GROUPS")),
            label=label or _env("LABEL") or "single sign-on", name=name,
            users=MemoryUsers(name) if user_store is None else StoredUsers(name, user_store),
            redirect_uri=redirect_uri or _env("REDIRECT_URI"),
            post_logout_redirect_uri=post_logout_redirect_uri,
            provider_logout=provider_logout)
        self.password_provider = password_provider
        self.user_store = user_store

    # --- the three questions: OIDC users first, then the password provider's ----------------

    async def authenticate(self, username: str, password: str) -> AuthResult:
        if self.password_provider is None:
            return AuthResult.fail(f"Sign in with {self.oidc.label}")
        return await self.password_provider.authenticate(username, password)

    async def get_user(self, user_id: str) -> User | None:
        user = await self.oidc.users.get(user_id)
        if user is None and self.password_provider is not None:
            user = await self.password_provider.get_user(user_id)
        return user

    async def get_user_by_username(self, username: str) -> User | None:
        user = await self.oidc.users.by_username(username)
        if user is None and self.password_provider is not None:
            user = await self.password_provider.get_user_by_username(username)
        return user

    # --- refresh tokens and revocation: in the user store when there is one ----------------

    async def save_refresh_token(self, record: RefreshTokenRecord) -> None:
        if self.user_store is not None:
            await self.user_store.save_refresh_token(record)
        else:
            await super().save_refresh_token(record)

    async def load_refresh_token(self, jti: str) -> RefreshTokenRecord | None:
        if self.user_store is not None:
            return await self.user_store.load_refresh_token(jti)
        return await super().load_refresh_token(jti)

    async def revoke_refresh_token(self, jti: str, replaced_by: str | None = None) -> bool:
        if self.user_store is not None:
            return await self.user_store.revoke_refresh_token(jti, replaced_by)
        return await super().revoke_refresh_token(jti, replaced_by)

    async def revoke_token_family(self, family: str) -> None:
        if self.user_store is not None:
            await self.user_store.revoke_token_family(family)
        else:
            await super().revoke_token_family(family)

    async def tokens_revoked_at(self, user_id: str) -> float | None:
        if self.user_store is not None:
            return await self.user_store.tokens_revoked_at(user_id)
        return await super().tokens_revoked_at(user_id)

    async def revoke_user_tokens(self, user_id: str) -> None:
        if self.user_store is None:
            await super().revoke_user_tokens(user_id)
            return
        await self.user_store.revoke_user_tokens(user_id)
        self.end_sessions(user_id)  # the sessions of the apps this provider protects

    # --- the login page and routes ------------------------------------------------------------

    @property
    def accepts_passwords(self) -> bool:
        return self.password_provider is not None

    def login_options(self) -> list[LoginOption]:
        return [LoginOption(f"Sign in with {self.oidc.label}", START)]

    def extra_routes(self, auth: AuthAPI) -> list[RouteSpec]:
        return OIDCRoutes(self, self.oidc, auth).table()

    def _backends(self) -> list[BaseAuthProvider]:
        found: list[BaseAuthProvider] = []
        for backend in (self.password_provider, self.user_store):
            if backend is not None and all(backend is not seen for seen in found):
                found.append(backend)
        return found

    async def startup(self) -> None:
        for backend in self._backends():
            await backend.startup()

    async def close(self) -> None:
        for backend in self._backends():
            await backend.close()


def _env(name: str) -> str | None:
    return os.environ.get(ENV_PREFIX + name) or None


def _listed(given: Iterable[str] | None, env_name: str) -> list[str]:
    if given is not None:
        return list(given)
    return [part.strip() for part in (_env(env_name) or "").split(",") if part.strip()]
