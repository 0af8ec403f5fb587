"""Session.on_close: callbacks run once, on the event loop, when the session closes; one that
raises is logged and does not keep the others from running."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import anywidget
import pytest

from numerous.apps import create_app, current_session
from numerous.apps.testing import AppDriver

from ._support import wait_until


class Empty(anywidget.AnyWidget):
    _esm = "export default { render() {} }"


def test_on_close_callbacks_run_once_on_the_loop_and_errors_are_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[tuple[str, str]] = []

    def run_app() -> dict[str, Any]:
        session = current_session()
        assert session is not None

        def broken() -> None:
            raise RuntimeError("cleanup failed")
        session.on_close(lambda: calls.append(("first", threading.current_thread().name)))
        session.on_close(broken)
        session.on_close(lambda: calls.append(("second", threading.current_thread().name)))
        return {"empty": Empty()}

    (tmp_path / "index.html.j2").write_text("{{ empty }}")
    app = create_app("index.html.j2", app_generator=run_app, base_dir=tmp_path)
    with AppDriver(app) as driver, caplog.at_level(logging.ERROR, "numerous.apps"):
        page = driver.open_session()
        assert calls == []
        page.close()
        wait_until(lambda: len(calls) == 2)
        page.session.close()  # a second close runs nothing again
        assert [name for name, _ in calls] == ["first", "second"]
        assert {thread for _, thread in calls} == {"numerous-testing-loop"}
        assert "cleanup failed" in caplog.text
        late: list[str] = []
        page.session.on_close(lambda: late.append("late"))  # already closed: runs at once
        wait_until(lambda: late == ["late"])
