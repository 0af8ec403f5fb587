"""Helpers for the authentication tests (this module holds no tests of its own).

Each test builds a small app in `tmp_path` with an anywidget counter, protected by a provider,
and talks to it through Starlette's TestClient with the lifespan running.
"""

from __future__ import annotations

import secrets
import warnings
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from numerous.apps import NumerousApp, create_app, current_user
from numerous.apps.auth import BaseAuthProvider
from numerous.apps.auth.providers.env_auth import EnvAuthProvider

from ._support import config_of, ws_hello, ws_message  # noqa: F401 - re-exported

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient and warns when it falls back to httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

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


class Counter(anywidget.AnyWidget):
    _esm = "export default { render({ model, el }) { el.textContent = model.get('value'); } }"
    value = traitlets.Int(0).tag(sync=True)
    owner = traitlets.Unicode("").tag(sync=True)


def run_counter() -> dict[str, Any]:
    """A counter that shows who opened the session (current_user() inside run_app)."""
    user = current_user()
    return {"counter": Counter(owner=user.username if user is not None else "")}


def new_secret() -> str:
    return secrets.token_hex(32)


def env_provider(**options: Any) -> EnvAuthProvider:
    options.setdefault("jwt_secret", new_secret())
    return EnvAuthProvider(users=USERS, **options)


def make_app(tmp_path: Path, provider: BaseAuthProvider, **kwargs: Any) -> NumerousApp:
    (tmp_path / "index.html.j2").write_text(
        "<!DOCTYPE html><html><head><title>t</title></head><body><main>{{ counter }}</main>"
        "</body></html>")
    kwargs.setdefault("app_generator", run_counter)
    return create_app(template="index.html.j2", base_dir=tmp_path, auth_provider=provider,
                      **kwargs)



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
