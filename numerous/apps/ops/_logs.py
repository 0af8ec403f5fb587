"""Structured logs: one JSON object per line, with the app, session and request they belong
to, and no secrets.

`configure_logging("json")` puts a `JsonFormatter` on the root logger (uvicorn's loggers
propagate to it); `numerous run --log-format json` and `create_app(log_format="json")` call
it. Every line, JSON or text, goes through `redact`: passwords, tokens, JWTs, bearer
credentials and the values of secret environment variables are replaced by `[redacted]`.
The admin page's recent errors come from `ERRORS`, a handler that keeps the last few.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from starlette.types import Scope

from .._session import current_session

LogFormat = Literal["text", "json"]

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "numerous_request_id", default=None)
_app: contextvars.ContextVar[str | None] = contextvars.ContextVar("numerous_app", default=None)
_ids = itertools.count(1)
_PREFIX = secrets.token_hex(3)

SECRET_ENV = ("NUMEROUS_JWT_SECRET", "NUMEROUS_METRICS_TOKEN", "NUMEROUS_AUTH_USERS",
              "NUMEROUS_OIDC_CLIENT_SECRET", "NUMEROUS_AGENT_TOKEN")
REDACTED = "[redacted]"
_PATTERNS = [
    re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"),  # a JWT
    re.compile(r"(?i)(bearer\s+)[\w.~+/=-]+"),
    re.compile(r"(?i)((?:password|passwd|secret|token|access_token|refresh_token|"
               r"authorization|cookie)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"),
    re.compile(r"(?i)([?&](?:code|state)=)[^&\s\"']+"),  # an OpenID Connect callback
]


@contextmanager
def request_context(scope: Scope, app: str) -> Iterator[None]:
    """Log lines written while serving this request carry its id and app."""
    header = dict(scope.get("headers") or ()).get(b"x-request-id", b"")
    rid = header.decode("latin-1")[:64] if header else f"{_PREFIX}-{next(_ids)}"
    tokens = (_request_id.set(rid), _app.set(app))
    try:
        yield
    finally:
        _request_id.reset(tokens[0])
        _app.reset(tokens[1])


def redact(text: str) -> str:
    """`text` without anything that looks like a credential or holds a secret's value."""
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 6:
            text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, app, session, request id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        session = current_session()
        app = _app.get() or (session.base or "/" if session is not None else None)
        if app is not None:
            entry["app"] = app
        if session is not None:
            entry["session"] = session.id[:6]
        rid = _request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        if record.exc_info:
            entry["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """The plain text format, with secrets redacted like the JSON one."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RecentErrors(logging.Handler):
    """The last `size` errors logged (with their tracebacks), for the admin page."""

    def __init__(self, size: int = 50) -> None:
        super().__init__(logging.ERROR)
        self.entries: deque[dict[str, str]] = deque(maxlen=size)
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        detail = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
        with self._guard:
            self.entries.appendleft({
                "time": time.strftime("%H:%M:%S", time.localtime(record.created)),
                "logger": record.name, "message": redact(record.getMessage())[:500],
                "traceback": redact(detail)[-4000:]})

    def recent(self) -> list[dict[str, str]]:
        with self._guard:
            return list(self.entries)


ERRORS = RecentErrors()
logging.getLogger("numerous").addHandler(ERRORS)


def configure_logging(log_format: LogFormat = "text", level: int = logging.INFO) -> None:
    """Send every log line (the framework's, uvicorn's, the app's) to stderr in `log_format`,
    redacted. Replaces the root logger's handlers; uvicorn's loggers propagate to it."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else RedactingFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
