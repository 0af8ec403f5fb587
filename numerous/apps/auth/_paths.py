"""Which paths need a signed-in user, and which `next` targets are safe to send a browser to.

Paths are those inside the app (without the prefix it is mounted under). Patterns are exact
paths, or contain `*`, which matches any run of characters including `/`: `/api/public/*`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any
from urllib.parse import quote

from .._client import scope_base

ALWAYS_PUBLIC = ("/login", "/api/auth/*", "/numerous/base.css", "/numerous/theme.css",
                 "/favicon.ico", "/numerous/health")
"""The login page, the auth API, what the login page loads and the health check are never
protected."""

FOLLOW_THE_PAGE = ("/numerous/ws", "/numerous/assets/*", "/numerous/js/*", "/numerous/files/*")
"""The app's own WebSocket, widget code, client and file routes need what its pages need: a
sign-in when every page needs one. (Each session is bound to who opened it, so a page opened
signed out never reaches a signed-in user's session through them.)"""

_UNCLEAN = re.compile(r"//|\\|/\.\.?(?:/|$)")
MAX_NEXT_LENGTH = 2048


def _compile(patterns: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = []
    for pattern in patterns:
        if not pattern.startswith("/"):
            raise ValueError(f"route patterns start with '/': {pattern!r}")
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        if "*" not in pattern and not pattern.endswith("/"):
            regex += "/?"
        alternatives.append(regex)
    return re.compile("|".join(f"(?:{a})" for a in alternatives)) if alternatives else None


class RouteRules:
    """`public_routes` and `protected_routes` of create_app, as the seed README describes:
    everything is protected except the public routes, or, with `protected_routes`, only what
    those match (public routes win where both match)."""

    def __init__(self, public: Iterable[str] | None = None,
                 protected: Iterable[str] | None = None,
                 pages: Iterable[str] = ("/",)) -> None:
        self._always = _compile(ALWAYS_PUBLIC)
        self._follow = _compile(FOLLOW_THE_PAGE)
        self._public = _compile(public or ())
        self._protected = None if protected is None else _compile(protected)
        self.protect_all = protected is None
        # A page path with parameters stands for the paths it serves: `{id:int}` -> `0`.
        self._pages = [re.sub(r"\{[^}]*\}", "0", page) for page in pages]

    def needs_auth(self, path: str) -> bool:
        path = path or "/"
        if _UNCLEAN.search(path) or not path.startswith("/"):
            return True  # never let an odd spelling slip past a pattern
        if _matches(self._always, path):
            return False
        if _matches(self._follow, path):
            return all(self._page_needs_auth(page) for page in self._pages)
        return self._page_needs_auth(path)

    def _page_needs_auth(self, path: str) -> bool:
        if _matches(self._public, path):
            return False
        return self.protect_all or _matches(self._protected, path)


def _matches(pattern: re.Pattern[str] | None, path: str) -> bool:
    return pattern is not None and pattern.fullmatch(path) is not None


def route_path(scope: MutableMapping[str, Any]) -> str:
    """The path inside the app: the request path without the prefix it is mounted under."""
    path: str = scope["path"]
    root = scope_base(scope)
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):] or "/"
    return path


def safe_next(value: str | None, fallback: str) -> str:
    """`value` if it leads back into this site, else `fallback`.

    Only a path is accepted: it starts with one `/`, holds no `//` or backslash before its
    query, and only printable ASCII, so no browser can read it as another host or a scheme
    (browsers drop tabs and newlines, which would turn `/\\t/evil.com` into `//evil.com`).
    """
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return fallback
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in value):
        return fallback
    path = re.split(r"[?#]", value, maxsplit=1)[0]
    if "//" in path or "\\" in value:
        return fallback
    return value


def request_target(scope: MutableMapping[str, Any]) -> str:
    """The full path and query of a request, as a `next` value (percent-encoded)."""
    path = quote(scope["path"], safe="/:@!$&'()*+,;=~")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path
