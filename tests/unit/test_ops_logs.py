"""Structured logs (numerous.apps.ops._logs): JSON lines with the request and session they
belong to, and secrets redacted."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from numerous.apps.ops import ERRORS, JsonFormatter, redact

from ._support import make_app


def record(message: str, *args: Any, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("token=abcdef123456")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("numerous.apps", logging.ERROR, __file__, 1, message, args,
                             exc_info)


@pytest.mark.parametrize("text", [
    "login with password=hunter2hunter2",
    'body {"password": "hunter2hunter2"}',
    "GET /login?password=hunter2hunter2&x=1",
    "Authorization: Bearer hunter2hunter2",
    "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJlLXZhbHVl",
    "GET /auth/callback?code=hunter2hunter2&state=s1",
    "refresh_token=hunter2hunter2",
])
def test_credentials_are_redacted(text: str) -> None:
    assert "hunter2hunter2" not in redact(text)
    assert "c2lnbmF0dXJl" not in redact(text)


def test_secret_environment_values_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMEROUS_JWT_SECRET", "the-secret-of-the-server")
    assert redact("oops: the-secret-of-the-server") == "oops: [redacted]"


def test_ordinary_lines_are_left_alone() -> None:
    line = "session abc123 expired; close code 4404 after 60 s"
    assert redact(line) == line


def test_a_json_line_has_the_fields_and_a_redacted_traceback() -> None:
    entry = json.loads(JsonFormatter().format(record("user %s failed", "ann", exc=True)))
    assert entry["level"] == "ERROR"
    assert entry["logger"] == "numerous.apps"
    assert entry["message"] == "user ann failed"
    assert entry["time"].endswith("Z")
    assert "ValueError" in entry["traceback"]
    assert "abcdef123456" not in entry["traceback"]


def broken() -> dict[str, Any]:
    logging.getLogger("numerous.apps").warning("building a session")
    raise RuntimeError("no widgets today")


def test_log_lines_name_their_request_and_session(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, app_generator=broken, dev=True))
    formatter = JsonFormatter()
    lines: list[dict[str, Any]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(formatter.format(record)))

    handler = Capture(logging.WARNING)
    logger = logging.getLogger("numerous.apps")
    logger.addHandler(handler)
    try:
        assert client.get("/", headers={"x-request-id": "req-42"}).status_code == 500
    finally:
        logger.removeHandler(handler)
    building = next(line for line in lines if line["message"] == "building a session")
    assert len(building["session"]) == 6 and building["app"] == "/"
    failed = next(line for line in lines if "no widgets today" in line["message"])
    assert failed["request_id"] == "req-42" and failed["app"] == "/"


def test_recent_errors_keep_their_traceback() -> None:
    logging.getLogger("numerous.apps").exception("boom", exc_info=ValueError("password=x1y2z3w4"))
    latest = ERRORS.recent()[0]
    assert latest["message"] == "boom"
    assert "x1y2z3w4" not in latest["traceback"]
