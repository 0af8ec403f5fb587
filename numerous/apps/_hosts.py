"""The Host allow-list: requests for a name the server does not go by are refused.

DNS rebinding points an attacker's name at this server's address: a page on that name then
talks to the app as its own origin (its `Origin` and `Host` agree, so the same-origin check
passes). Only the `Host` header tells such a request apart, so it is checked against the
names the server is meant to answer to, for HTTP requests and WebSocket handshakes alike.

A request without a Host header (HTTP/1.0, e.g. HAProxy's health checks) passes: browsers
always send one, and the attack needs a browser.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("numerous.apps")

_WILDCARD_BINDS = {"", "0.0.0.0", "::"}  # noqa: S104 - names of "every address", not a bind
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_LOGGED_MAX = 20


class AllowedHosts:
    """Host names (`a.example.com`, `*.example.com` for its subdomains, `*` for any), and
    whether any IP address is allowed too (a server bound to every address)."""

    def __init__(self, names: Iterable[str], any_address: bool = False) -> None:
        self.names = {_normal(name) for name in names if name.strip()}
        self.any_address = any_address

    def allows(self, host: str) -> bool:
        """Whether a Host header value (with or without its port) names this server."""
        name = _normal(_without_port(host))
        if "*" in self.names or name in self.names:
            return True
        if any(p.startswith("*.") and name.endswith(p[1:]) for p in self.names):
            return True
        return self.any_address and _is_address(name)

    def __repr__(self) -> str:
        extra = " and any IP address" if self.any_address else ""
        return f"{', '.join(sorted(self.names))}{extra}"


def default_allowed_hosts(bound: str, given: Iterable[str] = ()) -> AllowedHosts:
    """The names given, and the address the server is bound to: with localhost and the
    loopback addresses when that is a loopback address, and any IP address (no other name)
    when it is every address (0.0.0.0 or ::)."""
    names = [name.strip() for name in given]
    if bound in _WILDCARD_BINDS:
        return AllowedHosts([*names, "localhost"], any_address=True)
    if bound in _LOOPBACK or bound.startswith("127."):
        return AllowedHosts([*names, bound, *_LOOPBACK])
    return AllowedHosts([*names, bound])


class HostCheck:
    """Refuses HTTP requests (400) and WebSocket handshakes (403) for hosts not allowed."""

    def __init__(self, app: ASGIApp, hosts: AllowedHosts) -> None:
        self.app = app
        self.hosts = hosts
        self.logged: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = Headers(scope=scope).get("host") if scope["type"] in ("http", "websocket") \
            else None
        if host is None or self.hosts.allows(host):
            await self.app(scope, receive, send)
            return
        self._log(host)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: a 403
            return
        body = b"Invalid host header"
        await send({"type": "http.response.start", "status": 400, "headers": [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _log(self, host: str) -> None:
        """Once per name (and for the first few names only): a misconfigured proxy or a
        missing --allowed-hosts shows in the log without flooding it."""
        if host in self.logged or len(self.logged) >= _LOGGED_MAX:
            return
        self.logged.add(host)
        logger.warning("refused a request for host %r: the server answers to %s "
                       "(numerous run --allowed-hosts adds names)", host[:100], self.hosts)


def _without_port(host: str) -> str:
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _normal(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
