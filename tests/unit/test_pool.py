"""The session pool: each session's jobs in order and one at a time, on shared threads."""

from __future__ import annotations

import contextvars
import threading
import time
from typing import Any

from numerous.apps._pool import Serial, SessionPool

from ._support import wait_until
from .test_session import Counter, settle, update


def test_one_sessions_jobs_run_in_order_and_never_two_at_once() -> None:
    pool = SessionPool(keep=4, name="test-pool")
    serial = Serial(pool)
    ran: list[int] = []
    running = [0]
    overlaps = [0]

    def job(n: int) -> None:
        running[0] += 1
        if running[0] > 1:
            overlaps[0] += 1
        time.sleep(0.0005 if n % 50 == 0 else 0)
        ran.append(n)
        running[0] -= 1

    def producer(start: int) -> None:
        for n in range(start, start + 200):
            serial.submit(lambda n=n: job(n))

    producers = [threading.Thread(target=producer, args=(k * 1000,)) for k in range(4)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    wait_until(lambda: len(ran) == 800, timeout=10)
    assert overlaps[0] == 0, "a session's jobs never run at the same time"
    for k in range(4):
        mine = [n for n in ran if k * 1000 <= n < (k + 1) * 1000]
        assert mine == sorted(mine), "each producer's jobs run in the order queued"


def test_slow_callbacks_block_only_their_own_sessions() -> None:
    pool = SessionPool(keep=2, grow_after=0.02, name="test-pool")
    release = threading.Event()
    slow = [Serial(pool) for _ in range(6)]  # more blocked sessions than kept threads
    for serial in slow:
        serial.submit(lambda: release.wait(30))
    try:
        served = threading.Event()
        other = Serial(pool)
        started = time.monotonic()
        other.submit(served.set)
        assert served.wait(10), "another session's work is served while six callbacks block"
        waited = time.monotonic() - started
        assert waited < 5, f"served after {waited:.2f} s"
        assert pool.threads >= 7, "each blocked session holds a thread; one more serves the rest"
        # The blocked sessions' own later jobs wait for them: order within a session holds.
        after_slow: list[str] = []
        slow[0].submit(lambda: after_slow.append("next"))
        time.sleep(0.1)
        assert after_slow == []
    finally:
        release.set()
    wait_until(lambda: after_slow == ["next"], timeout=10)


def test_a_burst_of_quick_jobs_starts_no_thread_per_session() -> None:
    pool = SessionPool(keep=2, grow_after=0.05, name="test-pool")
    done: list[int] = []
    serials = [Serial(pool) for _ in range(500)]
    for n, serial in enumerate(serials):
        serial.submit(lambda n=n: done.append(n))
    wait_until(lambda: len(done) == 500, timeout=10)
    assert pool.threads <= 2 + 10, f"{pool.threads} threads for 500 quick jobs"


def test_threads_beyond_keep_end_when_idle() -> None:
    pool = SessionPool(keep=1, grow_after=0.01, idle_timeout=0.2, name="test-pool")
    release = threading.Event()
    serials = [Serial(pool) for _ in range(4)]
    for serial in serials:
        serial.submit(lambda: release.wait(10))
    wait_until(lambda: pool.threads == 4, timeout=10)
    release.set()
    wait_until(lambda: pool.threads == 1, timeout=10)


def test_an_ended_session_runs_nothing_more_and_can_be_waited_for() -> None:
    pool = SessionPool(name="test-pool")
    serial = Serial(pool)
    ran: list[str] = []
    serial.submit(lambda: ran.append("first"))
    serial.submit(serial.mark_ended)
    serial.submit(lambda: ran.append("after the end"))
    assert serial.wait_ended(5)
    serial.submit(lambda: ran.append("later still"))
    time.sleep(0.05)
    assert ran == ["first"] and serial.ended


def test_a_failing_job_does_not_stop_the_next() -> None:
    pool = SessionPool(keep=1, name="test-pool")
    serial = Serial(pool)
    ran: list[str] = []

    def fail() -> None:
        raise RuntimeError("the app's bug")

    serial.submit(fail)
    serial.submit(lambda: ran.append("next"))
    wait_until(lambda: ran == ["next"], timeout=5)


current: contextvars.ContextVar[Any] = contextvars.ContextVar("current", default=None)


async def test_each_session_keeps_its_own_context_variables(make_session: Any) -> None:
    """What run_app() puts in a context variable is what its callbacks see later, whichever
    thread runs them, and another session never sees it."""
    seen: dict[str, list[Any]] = {"a": [], "b": []}

    def app_for(name: str) -> Any:
        def run_app() -> dict[str, Any]:
            current.set(name)
            counter = Counter()
            counter.observe(lambda change: seen[name].append(current.get()), "value")
            return {"counter": counter}
        return run_app

    first, a = await make_session(app_for("a"))
    second, b = await make_session(app_for("b"))
    for n in range(1, 20):
        first.post(update(a["counter"], {"value": n}, seq=n))
        second.post(update(b["counter"], {"value": n}, seq=n))
    await settle(first)
    await settle(second)
    assert seen == {"a": ["a"] * 19, "b": ["b"] * 19}
    assert current.get() is None, "the event loop's context is untouched"
