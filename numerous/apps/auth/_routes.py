"""The login page and the auth API of one app, relative to where the app is served:

| route | what |
| --- | --- |
| `GET /login?next=` | the login form (or straight on, for a browser that is or can be signed in) |
| `POST /api/auth/login` | a form (redirects to `next`) or JSON (answers with the user) |
| `POST /api/auth/refresh` | rotate the refresh token, new access token (JSON) |
| `GET /api/auth/refresh?next=` | the same for a page load, then on to `next` |
| `POST /api/auth/logout` | end the sign-in, clear the cookies, close its sessions |
| `GET /api/auth/me` | the user and when the access token runs out |
| `GET /api/auth/check` | whether the request is signed in |

Tokens only ever travel in httpOnly cookies; no response body holds one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .._client import client_token
from .._observe import observe_login
from .._origin import cross_site_reason
from ._context import SignedIn, signed_in
from ._http import (
    HINT_COOKIE,
    REFRESH_COOKIE,
    base_path,
    clear_auth_cookies,
    client_address,
    set_auth_cookies,
)
from ._pages import LoginPage
from ._paths import safe_next
from .base import BaseAuthProvider, TokenPair
from .models import User

logger = logging.getLogger("numerous.apps.auth")

MAX_BODY = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store"}
Endpoint = Callable[[Request], Awaitable[Response]]


class SessionsView(Protocol):
    """What the auth routes need of an app: its live sessions, and a way to end one."""

    def __iter__(self) -> Iterator[Any]: ...

    def close(self, session: Any, reason: str) -> None: ...


class BadLogin(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    next: str | None
    json: bool


def owner_for(user: User, browser_owner: str) -> str:
    """A session owner bound to both the user and the browser (unambiguous for any id)."""
    return f"{owner_prefix(user.id)}{browser_owner}"


def owner_prefix(user_id: str) -> str:
    """How the owner of every session of one user begins, whatever the browser."""
    return f"user:{len(user_id)}:{user_id}:"


class AuthRoutes:
    """The endpoints, sharing the provider, the login page and the app's sessions."""

    def __init__(self, provider: BaseAuthProvider, page: LoginPage,
                 sessions: SessionsView) -> None:
        self.provider = provider
        self.page = page
        self.sessions = sessions

    def table(self) -> list[tuple[str, Endpoint, list[str]]]:
        return [
            ("/login", self.login_page, ["GET"]),
            ("/api/auth/login", self.login, ["POST"]),
            ("/api/auth/refresh", self.refresh, ["GET", "POST"]),
            ("/api/auth/logout", self.logout, ["POST"]),
            ("/api/auth/me", self.me, ["GET"]),
            ("/api/auth/check", self.check, ["GET"]),
        ]

    # --- login --------------------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        base = base_path(request)
        next_url = safe_next(request.query_params.get("next"), f"{base}/")
        found = await signed_in(request, self.provider)
        if found is not None and self.provider.allows(found.user):
            return RedirectResponse(next_url, status_code=303, headers=_NO_STORE)
        if found is not None:
            return self.page.render(request, next_url=next_url, status_code=403,
                                    error=_not_allowed(found.user))
        if (request.cookies.get(HINT_COOKIE) and "expired" not in request.query_params
                and not _cross_site_navigation(request)):
            return RedirectResponse(f"{base}/api/auth/refresh?next={quote(next_url, safe='')}",
                                    status_code=303, headers=_NO_STORE)
        error = ("Your sign-in has expired. Please sign in again."
                 if "expired" in request.query_params else None)
        return self.page.render(request, next_url=next_url, error=error)

    async def login(self, request: Request) -> Response:
        json_mode = _is_json(request)
        refused = _refuse_cross_site(request, "login", json_mode)
        if refused is not None:
            return refused
        try:
            creds = await _read_credentials(request)
        except BadLogin as exc:
            return _refuse(json_mode, exc.status_code, str(exc))
        next_url = safe_next(creds.next or _next_from_referer(request), f"{base_path(request)}/")
        return await self._sign_in(request, creds, next_url)

    async def _sign_in(self, request: Request, creds: Credentials, next_url: str) -> Response:
        limiter = self.provider.login_limiter
        address = client_address(request)
        wait = limiter.begin(creds.username, address)
        observe_login("attempt" if wait is None else "lockout")
        if wait is not None:
            logger.warning("login attempts for %r from %s are rate limited", creds.username[:64],
                           address)
            message = f"Too many failed attempts. Try again in {wait} seconds."
            return self._failed(request, creds, next_url, 429, message,
                                {"Retry-After": str(wait)})
        result = await self.provider.sign_in(creds.username, creds.password)
        if not result.success or result.user is None:
            observe_login("failure")
            logger.info("failed login for %r from %s", creds.username[:64], address)
            return self._failed(request, creds, next_url, 401,
                                result.error or "Invalid username or password")
        limiter.succeeded(creds.username, address)
        user = result.user
        if not self.provider.allows(user):
            return self._failed(request, creds, next_url, 403, _not_allowed(user))
        pair = await self.provider.issue_tokens(user)
        logger.info("user %r signed in from %s", user.username, address)
        response: Response = (_token_info(user, pair) if creds.json
                              else RedirectResponse(next_url, status_code=303, headers=_NO_STORE))
        set_auth_cookies(response, request, pair, self.provider)
        return response

    def _failed(self, request: Request, creds: Credentials, next_url: str, status_code: int,
                message: str, headers: dict[str, str] | None = None) -> Response:
        if creds.json:
            return JSONResponse({"detail": message}, status_code=status_code,
                                headers={**_NO_STORE, **(headers or {})})
        return self.page.render(request, next_url=next_url, error=message,
                                username=creds.username, status_code=status_code,
                                headers=headers)

    # --- refresh and logout ---------------------------------------------------------------------

    async def refresh(self, request: Request) -> Response:
        navigation = request.method == "GET"
        base = base_path(request)
        next_url = safe_next(request.query_params.get("next"), f"{base}/")
        if navigation and _cross_site_navigation(request):
            # A page load another site started must not rotate the refresh token (nor learn
            # from where it lands whether it could). The login page does not bounce such a
            # load back here: it shows the form.
            logger.warning("refused a cross-site refresh navigation (Sec-Fetch-Site)")
            return RedirectResponse(f"{base}/login?next={quote(next_url, safe='')}",
                                    status_code=303, headers=_NO_STORE)
        refused = None if navigation else _refuse_cross_site(request, "refresh", True)
        if refused is not None:
            return refused
        token = request.cookies.get(REFRESH_COOKIE)
        result = await self.provider.refresh(token) if token else None
        if result is None:
            await self._after_failed_refresh(token)
            response: Response = (
                RedirectResponse(f"{base}/login?next={quote(next_url, safe='')}&expired=1",
                                 status_code=303, headers=_NO_STORE) if navigation
                else JSONResponse({"detail": "Not authenticated"}, status_code=401,
                                  headers=_NO_STORE))
            clear_auth_cookies(response, request, self.provider)
            return response
        user, pair = result
        response = (RedirectResponse(next_url, status_code=303, headers=_NO_STORE) if navigation
                    else _token_info(user, pair))
        set_auth_cookies(response, request, pair, self.provider)
        return response

    async def logout(self, request: Request) -> Response:
        json_mode = _is_json(request)
        refused = _refuse_cross_site(request, "logout", json_mode)
        if refused is not None:
            return refused
        found = await signed_in(request, self.provider)
        user, sids = await self._sign_out(found, request.cookies.get(REFRESH_COOKIE))
        if user is not None:
            browsers = {client_token(request)}
            for sid in sids:
                browsers.update(self.provider.sign_in_browsers.forget(sid))
            self._close_sessions(user.id, browsers, "You have signed out.")
            logger.info("user %r signed out", user.username)
        response: Response = (
            JSONResponse({"ok": True}, headers=_NO_STORE) if json_mode
            else RedirectResponse(f"{base_path(request)}/login", status_code=303,
                                  headers=_NO_STORE))
        clear_auth_cookies(response, request, self.provider)
        return response

    async def _sign_out(self, found: SignedIn | None,
                        refresh_token: str | None) -> tuple[User | None, set[str]]:
        """End the sign-ins of the request's refresh and access tokens (one, as a rule; but a
        request may carry only either). Returns whose they were and which ended."""
        user = await self.provider.revoke(refresh_token) if refresh_token else None
        sid = self._sign_in_of(refresh_token)
        sids = {sid} if sid is not None else set()
        if found is None:
            return user, sids
        if found.sid is not None and found.sid not in sids:
            await self.provider.end_sign_in(found.sid, found.user.id)
            sids.add(found.sid)
        return found.user, sids

    async def _after_failed_refresh(self, token: str | None) -> None:
        """A refresh that ended its sign-in (its token was reused) closes the sessions that
        sign-in has open here, in every browser it was used from."""
        claims = self.provider.tokens.verify(token, "refresh") if token else None
        sid = claims["sid"] if claims is not None else None
        if claims is None or sid is None or not await self.provider.sign_in_ended(sid):
            return
        browsers = set(self.provider.sign_in_browsers.forget(sid))
        self._close_sessions(claims["sub"], browsers,
                             "Your sign-in was ended for safety. Please sign in again.")

    def _sign_in_of(self, refresh_token: str | None) -> str | None:
        claims = self.provider.tokens.verify(refresh_token, "refresh") if refresh_token else None
        return claims["sid"] if claims is not None else None

    def _close_sessions(self, user_id: str, browsers: set[str], reason: str) -> None:
        """Close the user's sessions in these browsers: a page left open stops working, also
        in a browser the sign-in's cookies were copied to."""
        owners = {f"{owner_prefix(user_id)}{browser}" for browser in browsers if browser}
        for session in self.sessions:
            if session.owner in owners:
                self.sessions.close(session, reason)

    # --- who am I -----------------------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        found = await signed_in(request, self.provider)
        if found is None:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401,
                                headers=_NO_STORE)
        return JSONResponse({"user": found.user.public(), **_expiry(found)}, headers=_NO_STORE)

    async def check(self, request: Request) -> Response:
        found = await signed_in(request, self.provider)
        body: dict[str, Any] = {"authenticated": found is not None}
        if found is not None:
            body.update(_expiry(found))
        return JSONResponse(body, headers=_NO_STORE)


def _expiry(found: SignedIn) -> dict[str, Any]:
    return {"access_expires_at": found.expires_at,
            "access_expires_in": max(0, found.expires_at - int(time.time()))}


def _token_info(user: User, pair: TokenPair) -> JSONResponse:
    now = int(time.time())
    return JSONResponse({
        "user": user.public(),
        "access_expires_at": pair.access.expires_at,
        "access_expires_in": max(0, pair.access.expires_at - now),
        "refresh_expires_at": pair.refresh.expires_at,
    }, headers=_NO_STORE)


def _not_allowed(user: User) -> str:
    return (f"You are signed in as {user.username}, who does not have access to this app. "
            "Sign in as someone else to continue.")


def _refuse(json_mode: bool, status_code: int, message: str) -> Response:
    if json_mode:
        return JSONResponse({"detail": message}, status_code=status_code, headers=_NO_STORE)
    return Response(message, status_code=status_code, media_type="text/plain",
                    headers=_NO_STORE)


def _refuse_cross_site(request: Request, what: str, json_mode: bool) -> Response | None:
    """A 403 for a state-changing request another site sent, or None if it is this site's."""
    reason = cross_site_reason(request)
    if reason is None:
        return None
    logger.warning("refused a cross-site %s request: %s", what, reason)
    return _refuse(json_mode, 403, "Cross-site request refused")


def _cross_site_navigation(request: Request) -> bool:
    """A page load another site started (a link, a form, a redirect chain through it)."""
    return request.headers.get("sec-fetch-site") == "cross-site"


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return (content_type.split(";")[0].strip().lower() == "application/json"
            or "application/json" in request.headers.get("accept", ""))


async def _read_credentials(request: Request) -> Credentials:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise BadLogin(413, "Request too large")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        fields = await _json_fields(request)
        as_json = True
    elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form(max_files=0, max_fields=16, max_part_size=MAX_BODY)
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        as_json = _is_json(request)
    else:
        raise BadLogin(415, "Send the username and password as a form or as JSON")
    username, password = fields.get("username"), fields.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise BadLogin(400, "username and password are required")
    next_value = fields.get("next")
    return Credentials(username, password,
                       next_value if isinstance(next_value, str) else None, as_json)


async def _json_fields(request: Request) -> dict[str, Any]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadLogin(413, "Request too large")
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise BadLogin(400, "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadLogin(400, "Send a JSON object with username and password")
    return data


def _next_from_referer(request: Request) -> str | None:
    """A custom login form may post no `next`: take it from the login page's own URL."""
    referer = request.headers.get("referer")
    if not referer:
        return None
    values = parse_qs(urlsplit(referer).query).get("next")
    return values[0] if values else None
