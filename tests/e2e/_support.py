"""Helpers shared by the e2e tests (this module holds no tests of its own)."""

from __future__ import annotations

import asyncio
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from numerous.apps.testing import AppPage


def sign_in(app: AppPage, username: str, password: str) -> None:
    """Fill in and send the login page's form, as a visitor does."""
    form = app.login_form
    form.username.fill(username)
    form.password.fill(password)
    form.submit.click()


# --- several instances behind HAProxy (test_deploy, test_oidc) -----------------------------

POSTGRES = os.environ.get("NUMEROUS_TEST_POSTGRES",
                          "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
INSTANCES = ("a", "b")
PREFIX = "/counter"
"""Where the proxy serves the app; the instances are told with --root-path."""

HAPROXY_CONFIG = """\
global
    maxconn 256
    log stdout format raw local0
    stats socket {socket} level admin

defaults
    mode http
    log global
    option httplog
    option forwardfor
    option redispatch
    retries 2
    retry-on conn-failure empty-response response-timeout 503
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    timeout client-fin 5s

frontend web
    bind 127.0.0.1:{port}
    http-request redirect location {prefix}/ if {{ path {prefix} }}
    use_backend apps if {{ path_beg {prefix}/ }}

backend apps
    http-request replace-path {prefix}(/.*) \\1
    balance roundrobin
    cookie SERVERID insert indirect nocache httponly
    option httpchk GET /numerous/health
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


def haproxy_path() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail("haproxy not found: scripts/test installs Debian's haproxy package "
                    "(apt-get install haproxy)")
    return found


def in_thread(work: Any) -> Any:
    """Run a coroutine to its end on a thread of its own: Playwright's sync API keeps an event
    loop on the test's thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()
