"""Whether a request comes from a page of this site: the same-origin check of the auth
endpoints and of the WebSocket handshake.

Browsers send `Origin` with every POST and every WebSocket handshake, and `Sec-Fetch-Site`
with both; a request with neither (and no `Referer`) is not from a browser page (a script, a
test client), so there is no forged request to stop.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def cross_site_reason(conn: HTTPConnection) -> str | None:
    """Why a request looks cross-site, or None if it comes from this site (or from no
    browser page at all). The reason names the foreign origin, never a cookie."""
    fetch_site = conn.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {fetch_site}"
    own = _origin_of(str(conn.url))
    origin = conn.headers.get("origin")
    if origin is not None:
        if own is not None and _origin_of(origin) == own:
            return None
        return f"Origin {origin[:100]!r} is not this site ({_show(own)})"
    referer = conn.headers.get("referer")
    if referer is not None and _origin_of(referer) != own:
        return f"Referer is not this site ({_show(own)})"
    return None


def _origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    if not parts.hostname or scheme not in ("http", "https"):
        return None
    return scheme, parts.hostname.lower(), port


def _show(origin: tuple[str, str, int] | None) -> str:
    return f"{origin[0]}://{origin[1]}:{origin[2]}" if origin else "?"
