"""Background tasks, driven in-process: a page stays responsive while one runs, progress
arrives in order, cancel stops the function, the pool refuses work past its bound, errors
reach the page, and a session's tasks stop with it."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import pytest
import traitlets

from numerous.apps import Task, TaskPool, TaskRefused, create_app, start_task, task
from numerous.apps.testing import AppDriver

from ._support import wait_until

ESM = "export default { render() {} }"


class Panel(anywidget.AnyWidget):
    """Stands for a start button, a cancel button, a progress bar and a result."""

    _esm = ESM
    start = traitlets.Int(0).tag(sync=True)
    cancel = traitlets.Int(0).tag(sync=True)
    fraction = traitlets.Float(0.0).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    result = traitlets.Unicode("").tag(sync=True)
    clicks = traitlets.Int(0).tag(sync=True)
    echo = traitlets.Int(0).tag(sync=True)


def build(tmp_path: Path, work: Any, *, dev: bool = True, keyed: bool = False,
          shared: bool = False, app_options: dict[str, Any] | None = None,
          **options: Any) -> Any:
    """An app whose panel starts `work(task, n)` when `start` is set to n, and cancels the
    latest run when `cancel` changes. `clicks` is answered in `echo` by a plain callback."""
    def run_app() -> dict[str, Any]:
        panel = Panel()
        latest: list[Task[Any]] = []

        def progress(fraction: float | None, message: str) -> None:
            panel.fraction, panel.message = fraction or 0.0, message

        def begin(change: dict[str, Any]) -> None:
            n = change["new"]
            try:
                latest.append(start_task(
                    work, n, on_progress=progress, key=f"job{n}" if keyed else None,
                    on_done=lambda result: setattr(panel, "result", f"done: {result}"),
                    on_cancel=lambda: setattr(panel, "result", f"cancelled {n}"),
                    **options))
            except TaskRefused as exc:
                panel.result = f"refused: {exc}"

        panel.observe(begin, "start")
        panel.observe(lambda _: latest[-1].cancel(), "cancel")
        panel.observe(lambda change: setattr(panel, "echo", change["new"]), "clicks")
        return {"panel": panel}

    (tmp_path / "index.html.j2").write_text("<main>{{ panel }}</main>")
    return create_app("index.html.j2", app_generator=run_app, base_dir=tmp_path, dev=dev,
                      share_widgets=shared, **(app_options or {}))


def test_a_five_second_task_leaves_the_page_responsive(tmp_path: Path) -> None:
    steps: list[float] = []
    ended = threading.Event()

    def five_seconds(task: Task[str], n: int) -> str:
        try:
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < 5:
                steps.append(elapsed)
                task.progress(elapsed / 5, "crunching")
                time.sleep(0.005)
            return "all crunched"
        finally:
            ended.set()

    with AppDriver(build(tmp_path, five_seconds)) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        page.wait_for("panel", lambda view: view.fraction > 0, message="crunching")
        for click in range(1, 11):
            began = time.perf_counter()
            page.set("panel", clicks=click)  # returns once the answer has arrived
            answered = time.perf_counter() - began
            assert page["panel"].echo == click
            # Not blocked behind the five seconds; generous for a machine busy with other work.
            assert answered < 0.25, f"click {click} took {answered * 1000:.0f} ms"
            time.sleep(0.05)
        assert not ended.is_set()  # the task was running all along
        page.set("panel", cancel=1)
        page.wait_for("panel", result="cancelled 1")
        assert ended.wait(1)  # cancel stopped the function at its next progress report
        count = len(steps)
        time.sleep(0.1)
        assert len(steps) == count


def test_progress_reaches_the_page_in_order_then_the_result(tmp_path: Path) -> None:
    def counting(task: Task[int], n: int) -> int:
        for step in range(1, 301):
            task.progress(step / 300, f"step {step}")
            time.sleep(0.001)
        return 300

    with AppDriver(build(tmp_path, counting)) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        page.wait_for("panel", result="done: 300")
        updates = [m["state"] for m in page.view.log if m.get("type") == "update"]
        fractions = [state["fraction"] for state in updates if "fraction" in state]
        assert fractions == sorted(set(fractions))  # in order, none twice
        assert fractions[-1] == 1.0
        assert len(fractions) < 150  # coalesced: at most one delivery a frame
        last_progress = max(i for i, s in enumerate(updates) if "fraction" in s)
        result_at = next(i for i, s in enumerate(updates) if s.get("result") == "done: 300")
        assert last_progress <= result_at


def test_a_function_that_checks_the_flag_stops_when_cancelled(tmp_path: Path) -> None:
    stopped = threading.Event()

    def polite(task: Task[None], n: int) -> None:
        while not task.cancelled:
            time.sleep(0.01)
        stopped.set()

    with AppDriver(build(tmp_path, polite)) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        time.sleep(0.05)
        page.set("panel", cancel=1)
        page.wait_for("panel", result="cancelled 1")
        assert stopped.is_set()


def blocking(release: threading.Event) -> Any:
    def work(task: Task[int], n: int) -> int:
        release.wait(5)
        return n
    return work


def test_the_pool_refuses_work_past_its_workers_and_queue(tmp_path: Path) -> None:
    release = threading.Event()
    pool = TaskPool(workers=1, queue=1)
    app = build(tmp_path, blocking(release), keyed=True, pool=pool)
    with AppDriver(app) as driver:
        page = driver.open_session()
        page.set("panel", start=1)  # runs
        page.set("panel", start=2)  # waits
        page.set("panel", start=3)
        assert page["panel"].result.startswith("refused: too many tasks: 1 running and 1 waiting")
        assert pool.load == 2
        release.set()
        page.wait_for("panel", result="done: 2")
        wait_until(lambda: pool.load == 0)
        page.set("panel", start=4)
        page.wait_for("panel", result="done: 4")


def test_starting_a_running_task_again_cancels_the_old_run(tmp_path: Path) -> None:
    seen: list[tuple[int, bool]] = []
    first_running = threading.Event()

    def long(task: Task[int], n: int) -> int:
        if n == 1:
            first_running.set()
        while not task.cancelled and n == 1:
            time.sleep(0.01)
        seen.append((n, task.cancelled))
        return n

    with AppDriver(build(tmp_path, long)) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        assert first_running.wait(10), "the first run never started"
        page.set("panel", start=2)
        # Both runs report: the old one cancelled, the new one done (in either order, so the
        # panel's last result may be either).
        wait_until(lambda: (1, True) in seen and (2, False) in seen, timeout=10)
        assert (1, False) not in seen, "the old run went on to finish"


def test_starting_a_running_task_again_can_be_refused(tmp_path: Path) -> None:
    release = threading.Event()
    app = build(tmp_path, blocking(release), if_running="refuse")
    with AppDriver(app) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        page.set("panel", start=2)
        assert "already running" in page["panel"].result
        release.set()
        page.wait_for("panel", result="done: 1")
        page.set("panel", start=3)  # not running any more: accepted
        page.wait_for("panel", result="done: 3")


def failing(task: Task[None], n: int) -> None:
    raise ValueError(f"row {n} is broken")


def test_a_task_error_goes_to_the_page_with_its_traceback_in_dev(tmp_path: Path) -> None:
    with AppDriver(build(tmp_path, failing)) as driver:
        page = driver.open_session()
        page.set("panel", start=7)
        error = page.wait_for_error("callback_error")
        assert error["message"] == "ValueError: row 7 is broken"
        assert "in failing" in error["traceback"]


def test_a_task_error_in_production_hides_the_details(tmp_path: Path) -> None:
    with AppDriver(build(tmp_path, failing, dev=False)) as driver:
        page = driver.open_session()
        page.set("panel", start=7)
        error = page.wait_for_error("callback_error")
        assert error["message"] == "An error occurred in the app."
        assert not error.get("traceback")


def test_a_session_that_ends_cancels_its_tasks(tmp_path: Path) -> None:
    cancelled = threading.Event()

    def endless(task: Task[None], n: int) -> None:
        try:
            while True:
                task.progress(None, "still going")
                time.sleep(0.01)
        finally:
            cancelled.set()

    with AppDriver(build(tmp_path, endless)) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        page.wait_for("panel", message="still going")
        page.close()
        assert cancelled.wait(2)


def test_a_page_that_reconnects_sees_the_running_tasks_progress(tmp_path: Path) -> None:
    halfway, release = threading.Event(), threading.Event()

    def two_halves(task: Task[str], n: int) -> str:
        task.progress(0.5, "halfway")
        halfway.set()
        release.wait(5)
        task.progress(0.9, "nearly")
        release.clear()
        release.wait(5)
        return "whole"

    with AppDriver(build(tmp_path, two_halves)) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        page.wait_for("panel", message="halfway")
        page.reconnect()
        assert (page["panel"].fraction, page["panel"].message) == (0.5, "halfway")
        release.set()
        page.wait_for("panel", fraction=0.9, message="nearly")
        release.set()
        page.wait_for("panel", result="done: whole")


def test_the_decorator_starts_a_run_per_call_and_knows_the_running_one(tmp_path: Path) -> None:
    release = threading.Event()
    runs: list[Any] = []

    def run_app() -> dict[str, Any]:
        panel = Panel()

        @task(on_done=lambda result: setattr(panel, "result", result))
        def shout(t: Task[str], word: str) -> str:
            release.wait(5)
            return word.upper()

        def begin(change: dict[str, Any]) -> None:
            shout("hello")
            runs.append(shout.running())
        panel.observe(begin, "start")
        return {"panel": panel}

    (tmp_path / "index.html.j2").write_text("<main>{{ panel }}</main>")
    app = create_app("index.html.j2", app_generator=run_app, base_dir=tmp_path)
    with AppDriver(app) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        release.set()
        page.wait_for("panel", result="HELLO")
        assert isinstance(runs[0], Task)
        assert runs[0].state == "done"


def test_starting_a_task_outside_a_session_says_why() -> None:
    with pytest.raises(RuntimeError, match="needs a session"):
        start_task(lambda t: None)



def test_with_shared_widgets_a_task_reports_to_every_page_and_errors_to_its_own(
        tmp_path: Path) -> None:
    def work(task: Task[int], n: int) -> int:
        if n == 13:
            raise ValueError("unlucky")
        task.progress(0.5, "half")
        return n * 2

    with AppDriver(build(tmp_path, work, shared=True)) as driver:
        first, second = driver.open_session(), driver.open_session()
        first.set("panel", start=21)
        second.wait_for("panel", result="done: 42", message="half")
        second.set("panel", start=13)
        assert second.wait_for_error("callback_error")["message"] == "ValueError: unlucky"
        first.settle()
        assert first.errors == []


def test_an_app_can_have_a_task_pool_of_its_own(tmp_path: Path) -> None:
    """create_app(task_workers=1, task_queue=0): one task runs, the next is refused, while the
    process-wide pool would have taken it."""
    release = threading.Event()
    app = build(tmp_path, blocking(release), keyed=True,
                app_options={"task_workers": 1, "task_queue": 0})
    with AppDriver(app) as driver:
        page = driver.open_session()
        page.set("panel", start=1)
        page.set("panel", start=2)
        assert "too many tasks" in page["panel"].result
        release.set()
        page.wait_for("panel", result="done: 1")
