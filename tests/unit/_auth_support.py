"""Helpers for the authentication tests (this module holds no tests of its own).

Each test builds a small app in `tmp_path` with `make_app(tmp_path, provider)` (the counter of
`_support`, which shows who opened the session), and talks to it through Starlette's TestClient
with the lifespan running.
"""

from __future__ import annotations

import secrets
from typing import Any

from numerous.apps.auth.providers.env_auth import EnvAuthProvider

from ._support import (
    TestClient,
    config_of,
    make_app,
    ws_hello,
    ws_message,
)

__all__ = ["PAGE", "PASSWORDS", "USERS", "TestClient", "config_of", "cookie_headers",
           "env_provider", "login", "make_app", "new_secret", "put_cookie",
           "until_ready", "ws_hello", "ws_message"]

PAGE = {"accept": "text/html,application/xhtml+xml"}
USERS: list[dict[str, Any]] = [
    {"username": "ann", "password": "ann-password-1", "roles": ["viewer"], "email": "a@x.org"},
    {"username": "bob", "password": "bob-password-1"},
    {"username": "root", "password": "root-password-1", "is_admin": True},
]
PASSWORDS = {entry["username"]: entry["password"] for entry in USERS}


def new_secret() -> str:
    return secrets.token_hex(32)


def env_provider(**options: Any) -> EnvAuthProvider:
    options.setdefault("jwt_secret", new_secret())
    return EnvAuthProvider(users=USERS, **options)


def login(client: TestClient, username: str, password: str | None = None,
          base: str = "") -> Any:
    """Sign in with JSON; returns the response."""
    return client.post(f"{base}/api/auth/login",
                       json={"username": username,
                             "password": PASSWORDS[username] if password is None else password})


def until_ready(ws: Any) -> list[dict[str, Any]]:
    """Messages up to and including `ready`."""
    seen: list[dict[str, Any]] = []
    while True:
        message = ws_message(ws)
        assert isinstance(message, dict), f"closed with {message}"
        seen.append(message)
        if message["type"] == "ready":
            return seen


def cookie_headers(response: Any) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def put_cookie(client: TestClient, name: str, value: str, path: str = "/") -> None:
    """Replace a cookie as the server would have set it (same domain, the given path)."""
    for cookie in [c for c in client.cookies.jar if c.name == name]:
        client.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
    client.cookies.set(name, value, domain="testserver.local", path=path)
