"""`BaseAuthProvider`: what an authentication backend implements, and what it gets for free.

A provider answers three questions (`authenticate`, `get_user`, `get_user_by_username`). The
base class adds everything around them: the JWT secret, issuing and verifying tokens, refresh
token rotation with reuse detection, the storage hooks that rotation needs (in memory unless a
provider overrides them), the login limiter, and an optional access rule for a whole app.

    class MyProvider(BaseAuthProvider):
        async def authenticate(self, username: str, password: str) -> AuthResult: ...
        async def get_user(self, user_id: str) -> User | None: ...
        async def get_user_by_username(self, username: str) -> User | None: ...
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import os
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, Self

from ._options import AuthAPI, LoginOption, RouteSpec
from ._ratelimit import LoginLimiter, LoginLimits
from ._refresh import MemoryRefreshStore, RefreshTokenRecord, SignInBrowsers
from ._tokens import Claims, IssuedToken, TokenIssuer, generated_secret
from .models import AuthResult, User

logger = logging.getLogger("numerous.apps.auth")

SECRET_ENV = "NUMEROUS_JWT_SECRET"
INVALID_CREDENTIALS = "Invalid username or password"

_memory_stores: dict[str, MemoryRefreshStore] = {}


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken


@dataclass(frozen=True)
class TokenStanding:
    """What the check of every signed-in request needs to know besides the token itself."""

    user: User | None
    revoked_at: float | None = None
    """When the user was last signed out everywhere (`revoke_user_tokens`), if ever."""
    sign_in_ended: bool = False
    """Whether the token's sign-in was ended (signed out, or its refresh token reused)."""


class AuthProvider(Protocol):
    """The three questions every provider answers. `create_app` takes a `BaseAuthProvider`,
    which adds tokens and refresh handling to them: subclass that."""

    async def authenticate(self, username: str, password: str) -> AuthResult: ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None: ...


class BaseAuthProvider(ABC):
    """The base of every authentication provider.

    Subclasses implement the three abstract methods. Options (all keyword-only):

    - `jwt_secret`: the signing secret; default `NUMEROUS_JWT_SECRET`, else a generated one,
      which `create_app` accepts only with `dev=True`.
    - `access_token_lifetime` / `refresh_token_lifetime`: seconds (15 minutes / 7 days).
    - `refresh_reuse_grace`: seconds during which a just-rotated refresh token may be presented
      again (two requests racing) without being treated as stolen; 0 by default.
    - `login_limits`: failed logins allowed per username from one address, and per address
      (`LoginLimits`; docs/auth.md, Hardening).
    - `secure_cookies`: force the cookies' `Secure` flag on (or off); by default it is on for
      requests that came over https.
    """

    access_token_lifetime: float = 15 * 60
    refresh_token_lifetime: float = 7 * 24 * 3600
    refresh_reuse_grace: float = 0.0
    login_limits: LoginLimits = LoginLimits()
    required_roles: tuple[str, ...] = ()
    """Set by `require()`: a user needs one of these roles (or to be an admin) to use the app."""
    admin_only: bool = False
    """Set by `require(admin=True)`: only admins may use the app."""
    secure_cookies: bool | None = None
    _secret_option: str | None = None

    def __init__(self, *, jwt_secret: str | None = None,
                 access_token_lifetime: float | None = None,
                 refresh_token_lifetime: float | None = None,
                 refresh_reuse_grace: float | None = None,
                 login_limits: LoginLimits | None = None,
                 secure_cookies: bool | None = None) -> None:
        self._secret_option = jwt_secret
        self.secure_cookies = secure_cookies
        if access_token_lifetime is not None:
            self.access_token_lifetime = access_token_lifetime
        if refresh_token_lifetime is not None:
            self.refresh_token_lifetime = refresh_token_lifetime
        if refresh_reuse_grace is not None:
            self.refresh_reuse_grace = refresh_reuse_grace
        if login_limits is not None:
            self.login_limits = login_limits

    # --- what a provider implements ---------------------------------------------------------

    @abstractmethod
    async def authenticate(self, username: str, password: str) -> AuthResult:
        """Check a username and password. Use the same message for an unknown user and a
        wrong password, and take the same time for both."""

    @abstractmethod
    async def get_user(self, user_id: str) -> User | None:
        """The user with this id (as put in tokens' `sub`), or None."""

    @abstractmethod
    async def get_user_by_username(self, username: str) -> User | None:
        """The user with this username, or None."""

    # --- secret and tokens ------------------------------------------------------------------

    @cached_property
    def jwt_secret(self) -> str:
        """The signing secret: the `jwt_secret` option, `NUMEROUS_JWT_SECRET`, or generated."""
        return self._secret_option or os.environ.get(SECRET_ENV) or generated_secret()

    @property
    def secret_is_generated(self) -> bool:
        """True when no secret was configured: tokens do not survive a restart, and
        production mode refuses to start."""
        return not (self._secret_option or os.environ.get(SECRET_ENV))

    @cached_property
    def tokens(self) -> TokenIssuer:
        return TokenIssuer(self.jwt_secret, access_lifetime=self.access_token_lifetime,
                           refresh_lifetime=self.refresh_token_lifetime)

    @cached_property
    def login_limiter(self) -> LoginLimiter:
        return LoginLimiter(self.login_limits)

    def verify_access_token(self, token: str) -> Claims | None:
        return self.tokens.verify(token, "access")

    async def user_for_access_token(self, token: str) -> User | None:
        """The active user an access token stands for, or None."""
        claims = self.verify_access_token(token)
        return await self.user_for_claims(claims) if claims is not None else None

    async def user_for_claims(self, claims: Claims) -> User | None:
        """The user a verified access token stands for, or None: unknown, disabled, signed
        out everywhere (`revoke_user_tokens`: a new password, say) after it was issued, or
        its sign-in ended (`end_sign_in`: signed out, or its refresh token reused)."""
        standing = await self.token_standing(claims["sub"], claims["sid"])
        user, revoked = standing.user, standing.revoked_at
        if user is None or not user.is_active or standing.sign_in_ended:
            return None
        if revoked is None:
            return user
        # `iat` is rounded to the millisecond: a token issued after the revocation always
        # passes; one issued within the same millisecond before it may too.
        return None if claims["iat"] < math.floor(revoked * 1000) / 1000 else user

    async def token_standing(self, user_id: str, sid: str | None) -> TokenStanding:
        """`user_and_revocation` and `sign_in_ended` together: every signed-in request asks
        for all three, so a provider with a database answers them with one query."""
        user, revoked = await self.user_and_revocation(user_id)
        ended = sid is not None and await self.sign_in_ended(sid)
        return TokenStanding(user, revoked, ended)

    async def user_and_revocation(self, user_id: str) -> tuple[User | None, float | None]:
        """`get_user` and `tokens_revoked_at` together: every signed-in request asks for both,
        so a provider with a database answers them with one query."""
        return await self.get_user(user_id), await self.tokens_revoked_at(user_id)

    async def tokens_revoked_at(self, user_id: str) -> float | None:
        """When `revoke_user_tokens` last ran for the user: access tokens issued before then
        are refused. A provider with storage of its own keeps it there, for every process."""
        return self._memory_store.revoked_at.get(user_id)

    # --- refresh token storage hooks (in memory unless overridden) -------------------------

    @cached_property
    def _memory_store(self) -> MemoryRefreshStore:
        # One store per secret, so a dev-mode reload (a new provider, the same secret) keeps
        # everyone signed in.
        key = hashlib.sha256(self.jwt_secret.encode()).hexdigest()
        return _memory_stores.setdefault(key, MemoryRefreshStore())

    async def save_refresh_token(self, record: RefreshTokenRecord) -> None:
        await self._memory_store.save(record)

    async def load_refresh_token(self, jti: str) -> RefreshTokenRecord | None:
        return await self._memory_store.load(jti)

    async def revoke_refresh_token(self, jti: str, replaced_by: str | None = None) -> bool:
        """Revoke one refresh token. Returns True only if it was active until now, so of two
        racing rotations exactly one wins."""
        return await self._memory_store.revoke(jti, replaced_by)

    async def revoke_token_family(self, family: str) -> None:
        await self._memory_store.revoke_family(family)

    async def record_ended_sign_in(self, sid: str, user_id: str, until: float) -> None:
        """Remember that the sign-in `sid` of `user_id` has ended, at least until `until`
        (when the last access token it issued expires). A provider with storage of its own
        keeps it there, so that every process sharing it refuses those tokens."""
        await self._memory_store.end_sign_in(sid, until)

    async def sign_in_ended(self, sid: str) -> bool:
        """Whether `record_ended_sign_in` recorded `sid` (and its time has not yet passed)."""
        return await self._memory_store.sign_in_ended(sid)

    async def revoke_user_tokens(self, user_id: str) -> None:
        """Sign a user out everywhere: their refresh tokens are revoked, the access tokens they
        hold are refused from now on (`tokens_revoked_at`), and their open sessions end
        (`end_sessions`). A provider overriding this records the time for
        `tokens_revoked_at` and calls `self.end_sessions(user_id)` too."""
        await self._memory_store.revoke_user(user_id)
        self.end_sessions(user_id)

    # --- the sessions of the apps this provider protects -----------------------------------

    @cached_property
    def sign_in_browsers(self) -> SignInBrowsers:
        """Which browsers each sign-in was used from (in this process), for closing the
        sessions of a sign-in that ends."""
        return SignInBrowsers()

    @cached_property
    def _session_enders(self) -> list[Callable[[str], None]]:
        return []

    def on_end_sessions(self, ender: Callable[[str], None]) -> None:
        """Called by `create_app`: `ender(user_id)` ends that user's sessions in one app."""
        self._session_enders.append(ender)

    def end_sessions(self, user_id: str) -> None:
        """End every open session of `user_id` in the apps this provider protects (in this
        process), at once: their pages show the session-lost banner. Disabling a user,
        changing their password and revoking their tokens do this."""
        for ender in list(self._session_enders):
            ender(user_id)

    # --- the flows the routes use -----------------------------------------------------------

    async def sign_in(self, username: str, password: str) -> AuthResult:
        """`authenticate`, plus refusing users who are not active or not allowed in."""
        result = await self.authenticate(username, password)
        if result.success and (result.user is None or not result.user.is_active):
            return AuthResult.fail(INVALID_CREDENTIALS)
        return result

    async def issue_tokens(self, user: User, family: str | None = None) -> TokenPair:
        """A new access token and a new refresh token (recorded), for `user`: a new sign-in,
        unless `family` names an existing one."""
        family = family or secrets.token_urlsafe(16)
        refresh = self.tokens.issue(user, "refresh", sid=family)
        return await self._record_pair(user, family, refresh)

    async def _record_pair(self, user: User, family: str, refresh: IssuedToken) -> TokenPair:
        await self.save_refresh_token(RefreshTokenRecord(
            jti=refresh.jti, family=family, user_id=user.id, expires_at=refresh.expires_at))
        return TokenPair(self.tokens.issue(user, "access", sid=family), refresh)

    async def end_sign_in(self, sid: str, user_id: str) -> None:
        """End one sign-in (a refresh-token family): its access tokens are refused from the
        next request on, on every instance sharing the provider's store, and its refresh
        tokens are revoked. Its record is kept for as long as an access token it issued may
        still be unexpired. (The routes close its open sessions in this process.)"""
        until = time.time() + self.tokens.access_lifetime
        await self.record_ended_sign_in(sid, user_id, until)
        await self.revoke_token_family(sid)

    async def refresh(self, refresh_token: str) -> tuple[User, TokenPair] | None:
        """Rotate a refresh token: the old one is revoked and a new pair issued in its family.

        A revoked token presented again (after `refresh_reuse_grace`) revokes its family.
        """
        claims = self.tokens.verify(refresh_token, "refresh")
        if claims is None:
            return None
        record = await self.load_refresh_token(claims["jti"])
        if record is None or record.user_id != claims["sub"]:
            return None
        user = await self.get_user(claims["sub"])
        if user is None or not user.is_active:
            await self.revoke_token_family(record.family)
            return None
        refresh = self.tokens.issue(user, "refresh", sid=record.family)
        if not await self.revoke_refresh_token(record.jti, replaced_by=refresh.jti):
            current = await self.load_refresh_token(record.jti)
            if current is None or not self._within_grace(current):
                logger.warning("a revoked refresh token of user %r was presented again; every "
                               "token of that sign-in is revoked", user.username)
                await self.end_sign_in(record.family, user.id)
                return None
        pair = await self._record_pair(user, record.family, refresh)
        if await self.sign_in_ended(record.family):
            # Signed out while this rotation ran: its new refresh token may have been saved
            # after the family was revoked, so revoke it again and hand out nothing.
            await self.revoke_token_family(record.family)
            return None
        return user, pair

    def _within_grace(self, record: RefreshTokenRecord) -> bool:
        return (record.replaced_by is not None and record.revoked_at is not None
                and time.time() - record.revoked_at <= self.refresh_reuse_grace)

    async def revoke(self, refresh_token: str) -> User | None:
        """Sign out: end the refresh token's sign-in (`end_sign_in`). Returns whose it was."""
        claims = self.tokens.verify(refresh_token, "refresh")
        if claims is None:
            return None
        record = await self.load_refresh_token(claims["jti"])
        if record is not None and record.user_id == claims["sub"]:
            await self.end_sign_in(record.family, record.user_id)
        return await self.get_user(claims["sub"])

    # --- who may use an app -----------------------------------------------------------------

    def require(self, roles: Iterable[str] = (), *, admin: bool = False) -> Self:
        """This provider, for an app that only some users may use.

        `create_app(..., auth_provider=provider.require(roles=["analyst"]))` lets in users with
        any of the roles, and admins; `provider.require(admin=True)` only admins. The result
        shares users, secret and tokens with `provider`, so several apps can use one provider
        with different rules.
        """
        for name in ("jwt_secret", "tokens", "login_limiter", "_memory_store",
                     "_session_enders", "sign_in_browsers"):
            getattr(self, name)  # settle shared state before copying, so copies share it
        clone = copy.copy(self)
        clone.required_roles = tuple(roles)
        clone.admin_only = admin
        return clone

    def allows(self, user: User) -> bool:
        """Whether `user` may use an app protected by this provider."""
        if not user.is_active:
            return False
        if user.is_admin:
            return True
        return not self.admin_only and (not self.required_roles
                                        or user.has_any_role(self.required_roles))

    # --- other ways to sign in (single sign-on) --------------------------------------------

    @property
    def accepts_passwords(self) -> bool:
        """Whether the login page shows the username and password form."""
        return True

    def login_options(self) -> list[LoginOption]:
        """Buttons the login page shows beside (or instead of) the form, one per option."""
        return []

    def extra_routes(self, auth: AuthAPI) -> list[RouteSpec]:
        """Routes of the provider's own (an OpenID Connect callback), added to the auth API
        before the standard table, so a provider may also stand in for one of its routes."""
        return []

    async def startup(self) -> None:
        """Called when an app using the provider starts (on the app's event loop)."""

    async def close(self) -> None:
        """Release what the provider holds (database connections); called at shutdown."""
