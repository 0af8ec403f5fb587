"""The login page: the built-in `login.html.j2` (overridable in the app's `templates/` folder)
or the app's own `login_template`, rendered with every value escaped.

Template variables: `title`, `error_message`, `username`, `next` (also `next_url`),
`login_action` (where the form posts), `base`, `base_css_url`, `theme_css_url` (or None),
`login_options` (buttons for single sign-on: each has `label` and `url`) and `password_login`
(whether the provider takes a username and password).
A custom template needs no more than a form posting `username` and `password` to
`login_action`; a `next` field is optional (the page's own `?next=` is used otherwise).
The page gets the app's Content-Security-Policy and framing rules (`create_app(security=...)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, TemplateNotFound
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse

from .._security import SecurityPolicy
from .._templating import Templates
from ._http import base_path
from ._options import SignInChoices

BUILTIN = "login.html.j2"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


class AppLook(Protocol):
    """What the login page needs of an app: its look and its security policy."""

    @property
    def templates(self) -> Templates: ...

    @property
    def security(self) -> SecurityPolicy: ...

    @property
    def base_dir(self) -> Path: ...

    @property
    def theme_css(self) -> str | None: ...


class LoginPage:
    def __init__(self, runtime: AppLook, template: str | None,
                 provider: SignInChoices | None = None) -> None:
        self.runtime = runtime
        self.template = template
        self.provider = provider
        self._env: Environment | None = None
        if template is not None:
            folder = runtime.base_dir
            self._env = Environment(
                loader=ChoiceLoader([FileSystemLoader(str(folder)),
                                     FileSystemLoader(str(folder / "templates"))]),
                autoescape=True, auto_reload=True)
            try:
                self._env.get_template(template)
            except TemplateNotFound:
                raise FileNotFoundError(
                    f"login_template {template!r} was not found in {folder} or "
                    f"{Path(folder) / 'templates'}") from None

    def render(self, conn: HTTPConnection, *, next_url: str, error: str | None = None,
               username: str = "", status_code: int = 200,
               headers: dict[str, str] | None = None) -> HTMLResponse:
        base = base_path(conn)
        context: dict[str, Any] = {
            "title": "Sign in",
            "error_message": error,
            "username": username,
            "next": next_url,
            "next_url": next_url,
            "login_action": f"{base}/api/auth/login",
            "base": base,
            "base_css_url": f"{base}/numerous/base.css",
            "theme_css_url": f"{base}/numerous/theme.css" if self.runtime.theme_css else None,
            **self._sign_in_choices(base, next_url),
        }
        if self._env is not None and self.template is not None:
            html = self._env.get_template(self.template).render(context)
        else:
            html = self.runtime.templates.render_builtin(BUILTIN, **context)
        return HTMLResponse(html, status_code=status_code,
                            headers={**self._headers(), **(headers or {})})

    def _sign_in_choices(self, base: str, next_url: str) -> dict[str, Any]:
        """The provider's single sign-on buttons, and whether it takes passwords at all."""
        if self.provider is None:
            return {"login_options": [], "password_login": True}
        after = quote(next_url, safe="")
        options = [{"label": option.label, "url": f"{base}{option.path}?next={after}"}
                   for option in self.provider.login_options()]
        return {"login_options": options, "password_login": self.provider.accepts_passwords}

    def _headers(self) -> dict[str, str]:
        """No caching, and the app's own security policy (framing, sources), which also
        applies when the page comes from the gate middleware rather than its route."""
        headers = dict(PAGE_HEADERS)
        policy = self.runtime.security
        if policy.enabled:
            headers["Content-Security-Policy"] = policy.header()
        frame = policy.frame_options()
        if frame:
            headers["X-Frame-Options"] = frame
        return headers
