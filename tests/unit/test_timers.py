"""Timers of a session: every() and after() run on the session thread, stop with their session,
and a timer whose function raises is reported once and stopped."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import pytest
import traitlets

from numerous.apps import Timer, _timers, after, create_app, every
from numerous.apps.testing import AppDriver

from ._support import wait_until


class Ticks(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    count = traitlets.Int(0).tag(sync=True)
    stop = traitlets.Int(0).tag(sync=True)


def build(tmp_path: Path, setup: Any) -> Any:
    """An app whose run_app() calls `setup(ticks)` to start its timers."""
    def run_app() -> dict[str, Any]:
        ticks = Ticks()
        setup(ticks)
        return {"ticks": ticks}

    (tmp_path / "index.html.j2").write_text("<main>{{ ticks }}</main>")
    return create_app("index.html.j2", app_generator=run_app, base_dir=tmp_path, dev=True)


def tick(ticks: Ticks) -> None:
    ticks.count += 1


def test_every_runs_as_the_sessions_work_until_cancelled(tmp_path: Path) -> None:
    threads: set[str] = set()
    timers: list[Timer] = []
    session_thread: list[str] = []

    def setup(ticks: Ticks) -> None:
        session_thread.append(threading.current_thread().name)  # run_app() runs on it

        def run() -> None:
            threads.add(threading.current_thread().name)
            tick(ticks)
        timers.append(every(0.02, run))
        ticks.observe(lambda _: timers[0].cancel(), "stop")

    with AppDriver(build(tmp_path, setup)) as driver:
        page = driver.open_session()
        page.wait_for("ticks", lambda view: view.count >= 3)
        # Like run_app() and the callbacks, on the session threads, never the event loop's.
        assert all(name.startswith("numerous-session-") for name in threads | set(session_thread))
        page.set("ticks", stop=1)
        stopped_at = page["ticks"].count
        time.sleep(0.1)
        page.settle()
        assert page["ticks"].count <= stopped_at + 1  # at most a run already under way
        assert timers[0].stopped


def test_after_runs_once(tmp_path: Path) -> None:
    def setup(ticks: Ticks) -> None:
        after(0.02, lambda: tick(ticks))

    with AppDriver(build(tmp_path, setup)) as driver:
        page = driver.open_session()
        page.wait_for("ticks", count=1)
        time.sleep(0.1)
        page.settle()
        assert page["ticks"].count == 1


def test_a_timer_that_raises_is_reported_once_and_stopped(tmp_path: Path) -> None:
    timers: list[Timer] = []

    def setup(ticks: Ticks) -> None:
        def broken() -> None:
            tick(ticks)
            raise KeyError("sensor 3")
        timers.append(every(0.02, broken))

    with AppDriver(build(tmp_path, setup)) as driver:
        page = driver.open_session()
        error = page.wait_for_error("callback_error")
        assert error["message"] == "KeyError: 'sensor 3'"
        assert "in broken" in error["traceback"]
        time.sleep(0.15)
        page.settle()
        assert page["ticks"].count == 1
        assert len(page.errors) == 1
        assert timers[0].stopped


def test_a_slow_run_makes_the_timer_skip_ticks_not_pile_them_up(tmp_path: Path) -> None:
    def setup(ticks: Ticks) -> None:
        def slow() -> None:
            time.sleep(0.05)
            tick(ticks)
        every(0.01, slow)

    with AppDriver(build(tmp_path, setup)) as driver:
        page = driver.open_session()
        time.sleep(0.5)  # 50 ticks, but room for 10 runs
        began = time.perf_counter()
        page.set("ticks", stop=1)  # answered after the run under way, not 40 queued ones
        assert time.perf_counter() - began < 0.5
        assert page["ticks"].count <= 12


def test_timers_need_a_session() -> None:
    with pytest.raises(RuntimeError, match="every\\(\\) needs a session"):
        every(1, lambda: None)


def session_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("numerous-session")]


@pytest.mark.slow
def test_no_thread_or_timer_is_left_after_a_thousand_sessions(tmp_path: Path) -> None:
    def setup(ticks: Ticks) -> None:
        every(0.05, lambda: tick(ticks))
        after(30, lambda: tick(ticks))

    with AppDriver(build(tmp_path, setup)) as driver:
        before = len(session_threads())
        for _ in range(10):
            pages = [driver.open_session() for _ in range(100)]
            assert len(_timers._ARMED) >= 100  # their timers are armed
            for page in pages:
                page.close()
        # Sessions share a pool of threads: a thousand sessions leave no thread each.
        assert len(session_threads()) <= before + 16
        wait_until(lambda: not _timers._ARMED)
        assert not _timers._TIMERS._items  # no session's timers kept
