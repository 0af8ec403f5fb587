"""Talking to an OpenID provider: discovery, its signing keys, the code exchange, the ID token.

The protocol work is done by libraries: Authlib builds the authorization URL (with the PKCE
challenge) and exchanges the code; joserfc checks the ID token's signature against the
provider's JWKS and its claims (`iss`, `aud`, `exp`, `iat`, `nonce`). What is ours is which
values they are checked against, and when the keys are fetched again: when a token names a
key the cached set lacks (the provider rotated its keys), at most once per `KEY_REFRESH_GAP`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

try:
    # Authlib's client runs on httpx2 (and only warns its way onto httpx): use the same one.
    import httpx2 as httpx
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from joserfc import jwt
    from joserfc.errors import InvalidKeyIdError, JoseError, MissingKeyError
    from joserfc.jwk import KeySet
    from joserfc.jwt import JWTClaimsRegistry
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "OIDCAuthProvider needs the 'oidc' extra: pip install 'numerous-apps[oidc]' "
        f"(missing: {exc.name})") from exc

KEY_REFRESH_GAP = 10.0
"""Seconds between two fetches of the provider's keys triggered by an unknown key id."""
CLOCK_LEEWAY = 60
"""Seconds of clock difference tolerated between us and the provider (exp, iat)."""
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                      "ES512", "EdDSA")
"""Asymmetric algorithms only: never `none`, and never an HMAC keyed with a public value."""
HTTP_TIMEOUT = 10.0
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class OIDCError(Exception):
    """A sign-in with the OpenID provider could not be completed; the message says why (and is
    safe to show: it never holds a token)."""


@dataclass(frozen=True)
class Tokens:
    id_claims: dict[str, Any]
    id_token: str
    access_token: str | None


class OIDCClient:
    """One relying party (client id and secret) of one OpenID provider (issuer)."""

    def __init__(self, issuer: str, client_id: str, client_secret: str | None, *,
                 scopes: str = "openid email profile",
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self._transport = transport
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._keys_refetched = -KEY_REFRESH_GAP
        self._lock = asyncio.Lock()

    def _http(self, **options: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(client_id=self.client_id, client_secret=self.client_secret,
                                 transport=self._transport, timeout=HTTP_TIMEOUT, **options)

    async def _get_json(self, url: str, headers: dict[str, str] | None = None
                        ) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(transport=self._transport,
                                         timeout=HTTP_TIMEOUT) as http:
                response = await http.get(url, headers={"Accept": "application/json",
                                                        **(headers or {})})
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise OIDCError(f"the OpenID provider could not be asked ({url}): "
                            f"{_describe(exc)}") from None
        if response.status_code != 200:
            raise OIDCError(f"the OpenID provider answered {response.status_code} for {url}")
        if not isinstance(body, dict):
            raise OIDCError(f"the OpenID provider sent no JSON object from {url}")
        return body

    # --- discovery and keys -------------------------------------------------------------------

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, fetched once (and checked to be its own)."""
        if self._metadata is None:
            found = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise OIDCError(f"the discovery document of {self.issuer} names another "
                                f"issuer: {found.get('issuer')!r}")
            missing = [key for key in REQUIRED_METADATA if not isinstance(found.get(key), str)]
            if missing:
                raise OIDCError(f"the discovery document of {self.issuer} lacks "
                                f"{', '.join(missing)}")
            self._metadata = found
        return self._metadata

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        async with self._lock:
            allowed = time.monotonic() - self._keys_refetched >= KEY_REFRESH_GAP
            if self._keys is None or (refresh and allowed):
                jwks = await self._get_json((await self.metadata())["jwks_uri"])
                self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
                if refresh:
                    self._keys_refetched = time.monotonic()
            return self._keys

    # --- the flow -----------------------------------------------------------------------------

    async def authorization_url(self, redirect_uri: str, *, state: str, nonce: str,
                                code_verifier: str) -> str:
        """Where to send the browser: the provider's sign-in, with PKCE (S256)."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        async with self._http(scope=self.scopes, redirect_uri=redirect_uri,
                              code_challenge_method="S256") as http:
            url, _ = http.create_authorization_url(endpoint, state=state, nonce=nonce,
                                                   code_verifier=code_verifier)
        return str(url)

    async def exchange(self, code: str, redirect_uri: str, code_verifier: str,
                       nonce: str) -> Tokens:
        """Trade the authorization code for tokens, and validate the ID token."""
        meta = await self.metadata()
        methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = ("client_secret_basic" if "client_secret_basic" in methods
                  else "client_secret_post")
        async with self._http(redirect_uri=redirect_uri,
                              token_endpoint_auth_method=method) as http:
            try:
                token = await http.fetch_token(meta["token_endpoint"], code=code,
                                               code_verifier=code_verifier,
                                               grant_type="authorization_code")
            except (OAuthError, httpx.HTTPError, ValueError) as exc:
                raise OIDCError(f"the code was refused: {_describe(exc)}") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OIDCError("the provider sent no ID token")
        claims = await self.validate_id_token(id_token, nonce)
        access = token.get("access_token")
        return Tokens(claims, id_token, access if isinstance(access, str) else None)

    async def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of an ID token this client may trust, or OIDCError.

        The signature must verify with one of the provider's published keys (fetched again
        once if the token names a key we lack: a rotation), with an asymmetric algorithm; the
        token must come from the issuer, be meant for this client, be current, and carry the
        nonce this browser's sign-in started with.
        """
        try:
            decoded = await self._decode(id_token)
        except JoseError as exc:
            raise OIDCError(f"the ID token was refused: {_describe(exc)}") from None
        claims = dict(decoded.claims)
        registry = JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY,
            iss={"essential": True, "value": self.issuer_as_sent()},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce})
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise OIDCError(f"the ID token was refused: {_describe(exc)}") from None
        if float(claims["iat"]) > time.time() + CLOCK_LEEWAY:
            raise OIDCError("the ID token was refused: issued in the future")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise OIDCError("the ID token was refused: issued to another party (azp)")
        return claims

    async def _decode(self, id_token: str) -> Any:
        algorithms = list(SIGNING_ALGORITHMS)
        try:
            return jwt.decode(id_token, await self._key_set(), algorithms=algorithms)
        except (InvalidKeyIdError, MissingKeyError):
            # A key we do not know: the provider may have rotated. Fetch its keys once more.
            keys = await self._key_set(refresh=True)
        return jwt.decode(id_token, keys, algorithms=algorithms)

    def issuer_as_sent(self) -> str:
        """The issuer as the discovery document spells it (a trailing slash matters to `iss`)."""
        return str((self._metadata or {}).get("issuer", self.issuer))

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        """The userinfo endpoint's claims (for a provider that keeps some out of the ID token)."""
        endpoint = (await self.metadata()).get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return {}
        return await self._get_json(endpoint, {"Authorization": f"Bearer {access_token}"})

    async def end_session_url(self, *, id_token_hint: str | None,
                              post_logout_redirect_uri: str) -> str | None:
        """The provider's RP-initiated logout URL, or None if it offers none."""
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not endpoint:
            return None
        params = {"client_id": self.client_id,
                  "post_logout_redirect_uri": post_logout_redirect_uri}
        if id_token_hint:
            params["id_token_hint"] = id_token_hint
        return str(httpx.URL(endpoint, params=params))


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]
