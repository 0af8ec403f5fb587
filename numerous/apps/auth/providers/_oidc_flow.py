"""One browser's trip to the OpenID provider and back, kept in a short-lived signed cookie.

`start` makes the trip's secrets (`state`, `nonce`, the PKCE verifier) and where to land after
(`next`), signs them into an httpOnly cookie named after the state, and sends the browser to
the provider. `callback` takes the state the provider hands back, finds the cookie of that
name (so only the browser that started the trip can finish it: no login CSRF), checks it,
spends it (a second use is refused), and trades the code for tokens. No server-side storage:
behind a load balancer the callback may land on any instance sharing the JWT secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response

from .._http import SETTINGS_KEY, base_path, is_secure
from ..base import BaseAuthProvider

FLOW_LIFETIME = 600
"""Seconds a browser has to come back from the provider."""
COOKIE_PREFIX = "numerous_oidc_"
_TYPE = "oidc-flow"


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str
    next: str
    expires_at: int


def new_flow(next_url: str) -> Flow:
    return Flow(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48),
                next_url, int(time.time()) + FLOW_LIFETIME)


def cookie_name(state: str) -> str:
    """The cookie's name follows from the state: two tabs signing in at once keep apart."""
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def auth_base(request: Request) -> str:
    """Where the auth API that finishes a sign-in lives: the app's, or, for a provider shared
    by combine_apps(), the combined server's root, whose cookies every app sees."""
    shared = getattr(request.scope.get(SETTINGS_KEY), "shared_prefix", "")
    base = base_path(request)
    return (base.removesuffix(shared) if shared else base).rstrip("/")


def cookie_path(request: Request) -> str:
    return f"{auth_base(request)}/api/auth/oidc"


def _key(provider: BaseAuthProvider) -> bytes:
    # A key of its own, derived from the JWT secret: a flow cookie can never pass for a token.
    return hmac.new(provider.jwt_secret.encode(), b"numerous oidc flow", hashlib.sha256).digest()


def seal(flow: Flow, provider: BaseAuthProvider) -> str:
    return jwt.encode({"type": _TYPE, "state": flow.state, "nonce": flow.nonce,
                       "verifier": flow.verifier, "next": flow.next, "exp": flow.expires_at},
                      _key(provider), algorithm="HS256")


def unseal(value: str, provider: BaseAuthProvider) -> Flow | None:
    """The flow in a cookie we signed, unexpired; None otherwise."""
    try:
        data: dict[str, Any] = jwt.decode(value, _key(provider), algorithms=["HS256"],
                                          options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    fields = ("state", "nonce", "verifier", "next")
    if data.get("type") != _TYPE or not all(isinstance(data.get(f), str) for f in fields):
        return None
    return Flow(data["state"], data["nonce"], data["verifier"], data["next"], int(data["exp"]))


def set_flow_cookie(response: Response, request: Request, flow: Flow,
                    provider: BaseAuthProvider) -> None:
    response.set_cookie(cookie_name(flow.state), seal(flow, provider), max_age=FLOW_LIFETIME,
                        path=cookie_path(request), httponly=True, samesite="lax",
                        secure=is_secure(request, provider))


def clear_flow_cookie(response: Response, request: Request, state: str,
                      provider: BaseAuthProvider) -> None:
    response.delete_cookie(cookie_name(state), path=cookie_path(request), httponly=True,
                           samesite="lax", secure=is_secure(request, provider))


class SpentFlows:
    """States already used in this process: a replayed callback (same cookie, same state) is
    refused even before the provider would refuse its spent code."""

    def __init__(self) -> None:
        self._spent: dict[str, int] = {}

    def spend(self, flow: Flow) -> bool:
        """True the first time a flow is spent, False after."""
        now = time.time()
        for state, expires in list(self._spent.items()):
            if expires < now:
                del self._spent[state]
        if flow.state in self._spent:
            return False
        self._spent[flow.state] = flow.expires_at
        return True


def flow_for(request: Request, provider: BaseAuthProvider) -> Flow | None:
    """The flow this callback belongs to: its state names a cookie of this browser, whose
    signed content holds the same state."""
    state = request.query_params.get("state")
    if not state or len(state) > 512:
        return None
    sealed = request.cookies.get(cookie_name(state))
    flow = unseal(sealed, provider) if sealed else None
    if flow is None or not hmac.compare_digest(flow.state, state):
        return None
    return flow
