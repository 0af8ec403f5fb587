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
from ..base import BaseAuthProvider
from ..models import AuthResult, User
from ._oidc_claims import AllowList, ClaimMapping
from ._oidc_client import OIDCClient, OIDCError
from ._oidc_routes import START, OIDCRoutes
from ._oidc_signin import OIDCSignIn

if TYPE_CHECKING:
    import httpx2 as httpx

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

    Token options are those of `BaseAuthProvider`. Users are kept in memory, as they sign in:
    after a restart, a browser signs in again (one click while the provider remembers it).
    """

    def __init__(self, *, issuer: str | None = None, client_id: str | None = None,
                 client_secret: str | None = None, scopes: str = "openid email profile",
                 claims: ClaimMapping | None = None, allow_emails: Iterable[str] | None = None,
                 allow_domains: Iterable[str] | None = None,
                 allow_groups: Iterable[str] | None = None, label: str | None = None,
                 name: str = "oidc", redirect_uri: str | None = None,
                 post_logout_redirect_uri: str | None = None, provider_logout: bool = True,
                 password_provider: BaseAuthProvider | None = None,
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
            redirect_uri=redirect_uri or _env("REDIRECT_URI"),
            post_logout_redirect_uri=post_logout_redirect_uri,
            provider_logout=provider_logout)
        self.password_provider = password_provider

    # --- the three questions: OIDC users first, then the password provider's ----------------

    async def authenticate(self, username: str, password: str) -> AuthResult:
        if self.password_provider is None:
            return AuthResult.fail(f"Sign in with {self.oidc.label}")
        return await self.password_provider.authenticate(username, password)

    async def get_user(self, user_id: str) -> User | None:
        if self.oidc.is_own_user(user_id):
            return self.oidc.users.get(user_id)
        return (await self.password_provider.get_user(user_id)
                if self.password_provider is not None else None)

    async def get_user_by_username(self, username: str) -> User | None:
        for user in self.oidc.users.values():
            if user.username == username:
                return user
        return (await self.password_provider.get_user_by_username(username)
                if self.password_provider is not None else None)

    # --- the login page and routes ------------------------------------------------------------

    @property
    def accepts_passwords(self) -> bool:
        return self.password_provider is not None

    def login_options(self) -> list[LoginOption]:
        return [LoginOption(f"Sign in with {self.oidc.label}", START)]

    def extra_routes(self, auth: AuthAPI) -> list[RouteSpec]:
        return OIDCRoutes(self, self.oidc, auth).table()

    async def startup(self) -> None:
        if self.password_provider is not None:
            await self.password_provider.startup()

    async def close(self) -> None:
        if self.password_provider is not None:
            await self.password_provider.close()


def _env(name: str) -> str | None:
    return os.environ.get(ENV_PREFIX + name) or None


def _listed(given: Iterable[str] | None, env_name: str) -> list[str]:
    if given is not None:
        return list(given)
    return [part.strip() for part in (_env(env_name) or "").split(",") if part.strip()]
