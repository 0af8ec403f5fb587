"""A small OpenID provider for the unit tests (this module holds no tests of its own).

It speaks the parts of the protocol the relying party uses (discovery, JWKS, token with PKCE,
userinfo, end-session URL) in-process, through httpx's ASGI transport, and lets a test make
it misbehave: another audience, an expired token, an unknown key, `alg: none`, another nonce.
The browser-level tests use the certified `oidc-provider` package instead (tests/e2e/oidc).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ISSUER = "https://idp.example"
CLIENT_ID = "numerous-app"
CLIENT_SECRET = "client-secret-1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIdP:
    def __init__(self) -> None:
        self.key = _new_key("k1")
        self.published = [self.key]
        self.grants: dict[str, dict[str, Any]] = {}
        self.tamper: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self.sign: Callable[[dict[str, Any]], str] | None = None
        self.userinfo_claims: dict[str, Any] = {}
        self.jwks_fetches = 0
        self.transport = httpx.ASGITransport(app=Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks), Route("/token", self.token, methods=["POST"]),
            Route("/userinfo", self.userinfo)]))

    def rotate(self) -> None:
        """Sign with a new key from now on, published beside the old one."""
        self.key = _new_key(f"k{len(self.published) + 1}")
        self.published.append(self.key)

    def authorize(self, location: str, claims: dict[str, Any]) -> tuple[str, str]:
        """What the provider does when the user signs in: a code for the redirect URI."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        code = f"code-{len(self.grants)}-{time.time_ns()}"
        self.grants[code] = {"query": query, "claims": claims}
        return code, query["state"]

    def id_token(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse({
            "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
            "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks",
            "userinfo_endpoint": f"{ISSUER}/userinfo",
            "end_session_endpoint": f"{ISSUER}/session/end",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"]})

    async def jwks(self, request: Request) -> JSONResponse:
        self.jwks_fetches += 1
        return JSONResponse(KeySet(list(self.published)).as_dict(private=False))

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.grants.pop(str(form.get("code")), None)
        if grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        query = grant["query"]
        verifier = str(form.get("code_verifier", ""))
        if _b64(hashlib.sha256(verifier.encode()).digest()) != query["code_challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"},
                                status_code=400)
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "nonce": query["nonce"], **grant["claims"]}
        if self.tamper is not None:
            claims = self.tamper(claims)
        token = self.sign(claims) if self.sign is not None else self.id_token(claims)
        return JSONResponse({"access_token": f"at-{time.time_ns()}", "token_type": "Bearer",
                             "expires_in": 300, "id_token": token})

    async def userinfo(self, request: Request) -> JSONResponse:
        return JSONResponse(self.userinfo_claims)


def _new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def unsigned(claims: dict[str, Any]) -> str:
    """An ID token with `alg: none`."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."
