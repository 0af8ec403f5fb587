"""Ways to sign in besides the password form, as a provider offers them to the login page and
the auth API: buttons (`LoginOption`) and routes of its own (an OpenID Connect callback).

A leaf module, so the provider base, the login page and the routes can all speak of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

Endpoint = Callable[[Request], Awaitable[Response]]
RouteSpec = tuple[str, Endpoint, list[str]]
"""A route of the auth API: its path inside the app, its endpoint, its methods."""


@dataclass(frozen=True)
class LoginOption:
    """A way to sign in besides the password form: a button on the login page."""

    label: str
    """The button's text: "Sign in with Keycloak"."""
    path: str
    """Where the button leads, inside the app (`/api/auth/oidc/start`); `?next=` is added."""


class SignInChoices(Protocol):
    """What the login page asks of a provider: its buttons, and whether it takes passwords."""

    @property
    def accepts_passwords(self) -> bool: ...

    def login_options(self) -> list[LoginOption]: ...


class MessagePage(Protocol):
    """The login page, as a provider's routes use it: to say why a sign-in was refused."""

    def render(self, conn: HTTPConnection, *, next_url: str, error: str | None = None,
               username: str = "", status_code: int = 200,
               headers: dict[str, str] | None = None) -> Response: ...


class AuthAPI(Protocol):
    """What a provider's own routes may use of the app's auth API: its login page (to show a
    refusal) and its sign-out (to add the provider's)."""

    @property
    def page(self) -> MessagePage: ...

    async def logout(self, request: Request) -> Response: ...
