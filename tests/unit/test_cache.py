"""@cache with the in-process backend: single-flight, TTL, size bound, invalidation."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from numerous.apps import MemoryBackend, cache

from ._support import all_at_once


def counted(**options: Any) -> tuple[Any, list[Any]]:
    """A cached function that records each argument it really computed."""
    calls: list[Any] = []

    @cache(backend=MemoryBackend(), **options)
    def square(x: int) -> int:
        calls.append(x)
        return x * x
    return square, calls


def test_a_result_is_computed_once_per_arguments() -> None:
    square, calls = counted()
    assert [square(3), square(3), square(4), square(x=3)] == [9, 9, 16, 9]
    assert calls == [3, 4, 3]  # a keyword call is another key, as with functools.cache


def test_a_hundred_threads_asking_for_a_missing_key_run_the_function_once() -> None:
    runs = []

    @cache(backend=MemoryBackend())
    def slow(x: int) -> str:
        runs.append(x)
        time.sleep(0.2)  # long enough for every thread to arrive while it runs
        return f"result {x}"

    results = all_at_once([lambda: slow(7)] * 100)
    assert runs == [7]
    assert results == ["result 7"] * 100


def test_waiters_get_the_leaders_error_and_nothing_is_stored() -> None:
    runs = []
    started = threading.Event()

    @cache(backend=MemoryBackend())
    def failing(x: int) -> int:
        runs.append(x)
        started.set()
        time.sleep(0.2)
        raise ValueError("the database is down")

    errors: list[BaseException] = []

    def ask() -> None:
        try:
            failing(1)
        except ValueError as exc:
            errors.append(exc)

    leader = threading.Thread(target=ask)
    leader.start()
    started.wait(5)
    waiter = threading.Thread(target=ask)
    waiter.start()
    leader.join(5)
    waiter.join(5)
    assert [str(e) for e in errors] == ["the database is down"] * 2
    assert runs == [1]
    with pytest.raises(ValueError, match="database is down"):
        failing(1)  # not cached: the next call tries again
    assert runs == [1, 1]


def test_a_result_expires_after_its_ttl() -> None:
    square, calls = counted(ttl=0.1)
    square(2)
    square(2)
    assert calls == [2]
    time.sleep(0.15)
    square(2)
    assert calls == [2, 2]


def test_the_least_recently_used_result_goes_first_past_maxsize() -> None:
    square, calls = counted(maxsize=2)
    square(1)
    square(2)
    square(1)  # 1 is now more recent than 2
    square(3)  # pushes 2 out
    assert square.backend.size(square.name) == 2
    calls.clear()
    square(1)
    square(3)
    square(2)
    assert calls == [2]


def test_invalidate_forgets_one_key_and_clear_forgets_all() -> None:
    square, calls = counted()
    square(1)
    square(2)
    square.invalidate(1)
    square(1)
    square(2)
    assert calls == [1, 2, 1]
    square.clear()
    square(1)
    square(2)
    assert calls == [1, 2, 1, 1, 2]


def test_unhashable_arguments_are_refused_naming_the_function() -> None:
    square, _ = counted()
    with pytest.raises(TypeError, match="square.*hashable"):
        square([1, 2])


def test_none_is_a_result_like_any_other() -> None:
    calls = []

    @cache(backend=MemoryBackend())
    def nothing() -> None:
        calls.append(1)

    nothing()
    nothing()
    assert calls == [1]


def test_the_decorator_works_without_parentheses_and_keeps_the_name() -> None:
    @cache
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    try:
        assert double(4) == 8
        assert double.__doc__ == "Twice x."
        assert double.name.endswith("double")
    finally:
        double.clear()
