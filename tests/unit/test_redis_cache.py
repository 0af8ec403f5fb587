"""@cache with the Redis backend, against the real Redis at 127.0.0.1:6379: two app instances
share results; TTL, size bound, invalidation; values that cannot be pickled."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anywidget
import pytest
import redis
import traitlets

from numerous.apps import RedisBackend, cache, create_app
from numerous.apps.testing import AppDriver

from ._support import all_at_once

URL = "redis://127.0.0.1:6379/0"


class Query(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"numerous-test:{secrets.token_hex(6)}:"
    yield prefix
    client = redis.Redis.from_url(URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def instance(tmp_path: Path, prefix: str, runs: list[int]) -> Any:
    """One app instance with its own Redis connection, as another server would have."""
    @cache(backend=RedisBackend(URL, prefix=prefix), name="report", ttl=60)
    def report(n: int) -> str:
        runs.append(n)
        return f"report {n}: {sum(range(n))}"

    def run_app() -> dict[str, Any]:
        query = Query()
        query.observe(lambda change: setattr(query, "text", report(change["new"])), "value")
        return {"query": query}

    folder = tmp_path / f"instance{secrets.token_hex(2)}"
    folder.mkdir()
    (folder / "index.html.j2").write_text("<main>{{ query }}</main>")
    return create_app("index.html.j2", app_generator=run_app, base_dir=folder)


def test_two_app_instances_share_results_through_redis(tmp_path: Path, prefix: str) -> None:
    first_runs: list[int] = []
    second_runs: list[int] = []
    with AppDriver(instance(tmp_path, prefix, first_runs)) as first, \
            AppDriver(instance(tmp_path, prefix, second_runs)) as second:
        page = first.open_session()
        page.set("query", value=100)
        assert page["query"].text == "report 100: 4950"
        other = second.open_session()
        other.set("query", value=100)
        assert other["query"].text == "report 100: 4950"
        other.set("query", value=10)
        assert other["query"].text == "report 10: 45"
    assert first_runs == [100]
    assert second_runs == [10]  # 100 came from the first instance's result


def test_single_flight_within_an_instance(prefix: str) -> None:
    runs = []

    @cache(backend=RedisBackend(URL, prefix=prefix), name="slow")
    def slow(x: int) -> int:
        runs.append(x)
        time.sleep(0.2)
        return x + 1

    results = all_at_once([lambda: slow(1)] * 50)
    assert runs == [1]
    assert results == [2] * 50


def test_single_flight_across_instances(prefix: str) -> None:
    runs: list[str] = []

    def instance_of(label: str) -> Any:
        @cache(backend=RedisBackend(URL, prefix=prefix), name="shared_slow")
        def slow(x: int) -> int:
            runs.append(label)
            time.sleep(0.3)
            return x * 10
        return slow

    first, second = instance_of("first"), instance_of("second")
    results = all_at_once([lambda: first(4), lambda: second(4)] * 20)
    assert len(runs) == 1
    assert results == [40] * 40


def test_an_instance_computes_itself_when_the_other_one_failed(prefix: str) -> None:
    def instance_of(fail: bool) -> Any:
        @cache(backend=RedisBackend(URL, prefix=prefix), name="flaky")
        def flaky() -> str:
            time.sleep(0.2)
            if fail:
                raise ConnectionError("the database went away")
            return "fine"
        return flaky

    failing, healthy = instance_of(True), instance_of(False)
    errors: list[BaseException] = []

    def ask_failing() -> None:
        try:
            failing()
        except ConnectionError as exc:
            errors.append(exc)

    thread = threading.Thread(target=ask_failing)
    thread.start()
    time.sleep(0.05)  # the failing instance holds the lock
    assert healthy() == "fine"  # waited for the lock to go, then computed
    thread.join(5)
    assert len(errors) == 1


def counted(prefix: str, **options: Any) -> tuple[Any, list[Any]]:
    calls: list[Any] = []

    @cache(backend=RedisBackend(URL, prefix=prefix), name="square", **options)
    def square(x: int) -> dict[str, int]:
        calls.append(x)
        return {"square": x * x}
    return square, calls


def test_values_round_trip_through_redis(prefix: str) -> None:
    square, calls = counted(prefix)
    assert square(3) == {"square": 9}
    assert square(3) == {"square": 9}
    assert calls == [3]


def test_a_result_expires_after_its_ttl_in_redis(prefix: str) -> None:
    square, calls = counted(prefix, ttl=0.2)
    square(2)
    square(2)
    time.sleep(0.3)
    square(2)
    assert calls == [2, 2]


def test_maxsize_bounds_the_keys_kept_in_redis(prefix: str) -> None:
    square, calls = counted(prefix, maxsize=3)
    for x in range(10):
        square(x)
    assert square.backend.size(square.name) == 3
    calls.clear()
    square(9)
    square(0)
    assert calls == [0]  # the newest stayed, the oldest went


def test_invalidate_and_clear_in_redis(prefix: str) -> None:
    square, calls = counted(prefix)
    square(1)
    square(2)
    square.invalidate(1)
    square(1)
    square(2)
    assert calls == [1, 2, 1]
    square.clear()
    assert square.backend.size(square.name) == 0
    square(2)
    assert calls == [1, 2, 1, 2]
    client = redis.Redis.from_url(URL)
    assert len(list(client.scan_iter(f"{prefix}*"))) == 2  # the value and the index
    client.close()


def test_a_value_that_cannot_be_pickled_is_refused_naming_the_function(prefix: str) -> None:
    @cache(backend=RedisBackend(URL, prefix=prefix), name="locks")
    def make_lock() -> Any:
        return threading.Lock()

    with pytest.raises(TypeError, match="locks returned a lock that cannot be pickled"):
        make_lock()


def test_arguments_without_a_stable_repr_are_refused(prefix: str) -> None:
    @cache(backend=RedisBackend(URL, prefix=prefix), name="by_object")
    def by_object(thing: object) -> int:
        return 1

    with pytest.raises(TypeError, match="by_object.*plain values"):
        by_object(object())
