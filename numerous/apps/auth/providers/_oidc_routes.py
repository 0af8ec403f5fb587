"""The OpenID Connect routes an `OIDCAuthProvider` adds to an app's auth API:

| route | what |
| --- | --- |
| `GET /api/auth/oidc/start?next=` | off to the provider's sign-in (the login page's button) |
| `GET /api/auth/oidc/callback` | back from it: check, sign in, on to `next` |
| `POST /api/auth/logout` | the framework's sign-out, then the provider's (RP-initiated) |

A refused sign-in shows the login page with a message saying why, in words for the user; the
log says more.
"""

from __future__ import annotations

import html
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .._context import signed_in
from .._http import REFRESH_COOKIE, base_path, set_auth_cookies
from .._options import AuthAPI, RouteSpec
from .._paths import safe_next
from ..base import BaseAuthProvider
from ._oidc_client import OIDCError
from ._oidc_flow import (
    SpentFlows,
    auth_base,
    clear_flow_cookie,
    flow_for,
    new_flow,
    set_flow_cookie,
)
from ._oidc_signin import OIDCSignIn

logger = logging.getLogger("numerous.apps.auth")

START = "/api/auth/oidc/start"
CALLBACK = "/api/auth/oidc/callback"
_NO_STORE = {"Cache-Control": "no-store"}
RESTART = "This sign-in could not be completed. Please sign in again."


class OIDCRoutes:
    def __init__(self, provider: BaseAuthProvider, oidc: OIDCSignIn, auth: AuthAPI) -> None:
        self.provider = provider
        self.oidc = oidc
        self.auth = auth
        self.spent: SpentFlows = oidc.spent_flows

    def table(self) -> list[RouteSpec]:
        return [(START, self.start, ["GET"]), (CALLBACK, self.callback, ["GET"]),
                ("/api/auth/logout", self.logout, ["POST"])]

    def redirect_uri(self, request: Request) -> str:
        configured = self.oidc.redirect_uri
        if configured:
            return configured
        return str(request.url.replace(path=f"{auth_base(request)}{CALLBACK}", query=""))

    # --- there ----------------------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        base = base_path(request)
        flow = new_flow(safe_next(request.query_params.get("next"), f"{base}/"))
        try:
            url = await self.oidc.client.authorization_url(
                self.redirect_uri(request), state=flow.state, nonce=flow.nonce,
                code_verifier=flow.verifier)
        except OIDCError as exc:  # the provider is down or misconfigured: say so, log why
            logger.error("OpenID provider %s unreachable: %s", self.oidc.client.issuer, exc)
            return self._refuse(request, 502, f"{self.oidc.label} cannot be reached "
                                "right now. Please try again in a moment.", flow.next)
        response = RedirectResponse(url, status_code=303, headers=_NO_STORE)
        set_flow_cookie(response, request, flow, self.provider)
        return response

    # --- and back -------------------------------------------------------------------------------

    async def callback(self, request: Request) -> Response:
        base = base_path(request)
        flow = flow_for(request, self.provider)
        if flow is None:
            logger.warning("refused an OpenID callback without a matching state cookie")
            return self._refuse(request, 400, RESTART, f"{base}/")
        error = request.query_params.get("error")
        code = request.query_params.get("code")
        if not self.spent.spend(flow) or error or not code:
            logger.warning("refused an OpenID callback: %s",
                           error or ("no code" if not code else "state used twice"))
            message = ("The sign-in was cancelled." if error == "access_denied" else RESTART)
            return self._done(self._refuse(request, 400, message, flow.next), request,
                              flow.state)
        try:
            user = await self.oidc.sign_in_with_code(code, self.redirect_uri(request),
                                                         flow.verifier, flow.nonce)
        except OIDCError as exc:
            logger.warning("refused an OpenID sign-in: %s", exc)
            return self._done(self._refuse(request, 401, RESTART, flow.next), request,
                              flow.state)
        if isinstance(user, str):
            return self._done(self._refuse(request, 403, user, flow.next), request, flow.state)
        if not self.provider.allows(user):
            message = (f"You are signed in as {user.username}, who does not have access to "
                       "this app.")
            return self._done(self._refuse(request, 403, message, flow.next), request,
                              flow.state)
        pair = await self.provider.issue_tokens(user)
        logger.info("user %r signed in with %s", user.username, self.oidc.label)
        response = RedirectResponse(flow.next, status_code=303, headers=_NO_STORE)
        set_auth_cookies(response, request, pair, self.provider)
        return self._done(response, request, flow.state)

    def _done(self, response: Response, request: Request, state: str) -> Response:
        clear_flow_cookie(response, request, state, self.provider)
        return response

    def _refuse(self, request: Request, status_code: int, message: str,
                next_url: str) -> Response:
        return self.auth.page.render(request, next_url=next_url, error=message,
                                     status_code=status_code)

    # --- sign out -------------------------------------------------------------------------------

    async def logout(self, request: Request) -> Response:
        """The framework's sign-out, then, for a user who came from the provider, the
        provider's own: a JSON answer names it in `redirect`, a form post is sent there."""
        user_id = await self._user_id(request)
        response = await self.auth.logout(request)
        hint = self.oidc.forget_id_token(user_id) if user_id else None
        user = await self.provider.get_user(user_id) if user_id else None
        if (response.status_code not in (200, 303) or not self.oidc.provider_logout
                or user is None or not self.oidc.is_own(user)):
            return response
        after = self.oidc.post_logout_redirect_uri or str(
            request.url.replace(path=f"{base_path(request)}/login", query=""))
        try:
            url = await self.oidc.client.end_session_url(
                id_token_hint=hint, post_logout_redirect_uri=after)
        except OIDCError as exc:  # signed out here all the same
            logger.warning("no provider sign-out (%s)", exc)
            return response
        return response if url is None else _redirected(response, url)

    async def _user_id(self, request: Request) -> str | None:
        found = await signed_in(request, self.provider)
        if found is not None:
            return found.user.id
        token = request.cookies.get(REFRESH_COOKIE)
        claims = self.provider.tokens.verify(token, "refresh") if token else None
        return claims["sub"] if claims is not None else None


def _redirected(response: Response, url: str) -> Response:
    """The sign-out's answer, sending the browser on to `url` (keeping its cookie changes).

    A form post is answered with a page that moves on by itself: the app's
    Content-Security-Policy (`form-action 'self'`) stops a form's redirect to another site.
    """
    replaced: Response
    if response.status_code == 303:
        replaced = HTMLResponse(_MOVING_ON.format(url=html.escape(url, quote=True)),
                                headers={**_NO_STORE, "Referrer-Policy": "no-referrer"})
    else:
        replaced = JSONResponse({"ok": True, "redirect": url}, headers=_NO_STORE)
    replaced.raw_headers.extend((k, v) for k, v in response.raw_headers if k == b"set-cookie")
    return replaced


_MOVING_ON = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta http-equiv="refresh" content="0;url={url}"><title>Signing out</title></head>
<body><p>You are signed out here. <a href="{url}" data-numerous-sign-out>Continue</a> to
sign out at your sign-in provider too.</p></body></html>
"""
