"""Security headers: a Content-Security-Policy that fits widget modules, and the usual others."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class SecurityPolicy:
    """What the app's pages allow. Pass one to `create_app(security=...)` to change it.

    The default lets the page run its own scripts and widget modules (served by the app, or
    from the origin of a widget whose `_esm` is a URL), keeps inline styles (templates and
    widgets use `style` attributes), and only lets the app itself frame its pages.
    """

    frame_ancestors: str = "'self'"
    """Who may put the pages in a frame: "'self'", "'none'", or a list of origins."""
    script_sources: list[str] = field(default_factory=list)
    """Extra origins for scripts, e.g. "https://esm.sh"."""
    style_sources: list[str] = field(default_factory=lambda: ["https://fonts.googleapis.com"])
    """Extra origins for stylesheets (numerous-widgets imports Google Fonts)."""
    connect_sources: list[str] = field(default_factory=list)
    """Extra origins widgets may fetch from."""
    allow_eval: bool = False
    """True adds 'unsafe-eval' to script-src, for widgets that compile code at run time
    (WebGL libraries built on regl, ipyleaflet's templates). It lets any script on the page
    turn text into code, so it is off by default; a widget that needs it shows an error naming
    this setting instead (docs/widgets.md)."""
    extra: str = ""
    """Directives appended as they are, e.g. "upgrade-insecure-requests"."""
    enabled: bool = True
    """False sends no Content-Security-Policy at all (other headers stay)."""
    hsts_max_age: int = 0
    """Seconds for `Strict-Transport-Security` on https responses; 0 (the default) sends
    none. Only for apps that are always served over TLS (docs/deploy.md): browsers then
    refuse plain http to the host for that long."""
    max_body_bytes: int = 64 * 1024
    """Largest request body a route accepts, counted as it streams (413 past it). Routes
    may declare more: the agent API takes `SessionLimits.max_message_bytes`."""
    body_limits: dict[str, int | None] = field(default_factory=dict)
    """Budgets for the paths below a prefix, e.g. {"/upload": 100 * 2**20}; the longest
    prefix wins, over what a route declares. None: no limit there."""
    health_sessions: bool = False
    """True: `/numerous/health` also tells anyone who asks how many sessions are live."""

    def header(self, module_urls: Iterable[str] = (), inline: Iterable[str] = ()) -> str:
        """The policy of a page whose widget code comes from `module_urls` and which runs the
        inline scripts `inline` names (their `'sha256-...'` sources: nothing else inline runs)."""
        origins = sorted({_origin(url) for url in module_urls} - {""})
        directives = [
            "default-src 'self'",
            _directive("script-src", ["'self'", *inline,
                                      *(["'unsafe-eval'"] if self.allow_eval else []),
                                      *origins, *self.script_sources]),
            _directive("style-src", ["'self'", "'unsafe-inline'", *origins,
                                     *self.style_sources]),
            "img-src 'self' data: blob: https:",
            "font-src 'self' data: https:",
            _directive("connect-src", ["'self'", *origins, *self.connect_sources]),
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {self.frame_ancestors}",
        ]
        if self.extra:
            directives.append(self.extra)
        return "; ".join(directives)

    def frame_options(self) -> str | None:
        """The older X-Frame-Options equivalent of `frame_ancestors`, where one exists."""
        return {"'self'": "SAMEORIGIN", "'none'": "DENY"}.get(self.frame_ancestors.strip())


def _directive(name: str, sources: list[str]) -> str:
    return f"{name} {' '.join(dict.fromkeys(sources))}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return ""


def page_headers(policy: SecurityPolicy, https: bool, csp: str | None = None) -> dict[str, str]:
    """The headers an HTML page of the app carries (a page made outside `create_app`, such as
    `combine_apps`' index, sends these too). `csp` replaces the policy's default header."""
    headers = response_headers(policy, https)
    if policy.enabled:
        headers["Content-Security-Policy"] = csp or policy.header()
    frame = policy.frame_options()
    if frame:
        headers["X-Frame-Options"] = frame
    return headers


def response_headers(policy: SecurityPolicy, https: bool) -> dict[str, str]:
    """The headers every response carries."""
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    if https and policy.hsts_max_age > 0:
        # Over http a browser ignores it, and an attacker in the middle could strip it anyway.
        headers["Strict-Transport-Security"] = f"max-age={policy.hsts_max_age}"
    return headers


class SecurityHeaders:
    """Adds the headers every response should carry, and a default CSP to HTML responses
    that do not set their own."""

    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy
        self.default_csp = policy.header()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                html = headers.get("content-type", "").startswith("text/html")
                extra = (page_headers(self.policy, https, self.default_csp) if html
                         else response_headers(self.policy, https))
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
