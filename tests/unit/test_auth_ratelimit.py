"""The login limiter: failures per username-and-address and per address in a sliding window."""

from __future__ import annotations

from numerous.apps.auth import LoginLimits
from numerous.apps.auth._ratelimit import LoginLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_username_is_blocked_at_an_address_after_its_failures_until_the_window_passes(
        ) -> None:
    clock = Clock()
    limiter = LoginLimiter(LoginLimits(per_username=3, per_address=100, window=60), clock)
    for _ in range(3):
        assert limiter.retry_after("ann", "1.1.1.1") is None
        limiter.failed("ann", "1.1.1.1")
        clock.now += 1
    wait = limiter.retry_after("ANN ", "1.1.1.1")
    assert wait == 57, "the same username in another case is blocked too"
    assert limiter.retry_after("ann", "2.2.2.2") is None, "from elsewhere it is not"
    assert limiter.retry_after("bob", "1.1.1.1") is None
    clock.now += 56.5
    assert limiter.retry_after("ann", "1.1.1.1") == 1
    clock.now += 1
    assert limiter.retry_after("ann", "1.1.1.1") is None


def test_an_address_is_blocked_after_failures_for_any_usernames() -> None:
    clock = Clock()
    limiter = LoginLimiter(LoginLimits(per_username=100, per_address=4, window=30), clock)
    for index in range(4):
        limiter.failed(f"user{index}", "9.9.9.9")
    assert limiter.retry_after("someone-new", "9.9.9.9") == 30
    assert limiter.retry_after("someone-new", "8.8.8.8") is None


def test_success_clears_the_username_count() -> None:
    limiter = LoginLimiter(LoginLimits(per_username=2, per_address=100), Clock())
    limiter.failed("ann", "a")
    limiter.succeeded("ann", "a")
    limiter.failed("ann", "a")
    assert limiter.retry_after("ann", "a") is None


def test_memory_is_bounded() -> None:
    limiter = LoginLimiter(LoginLimits(max_keys=10), Clock())
    for index in range(100):
        limiter.failed(f"user{index}", f"addr{index}")
    assert len(limiter._failures) <= 10


def test_an_admitted_attempt_counts_until_it_succeeds() -> None:
    limiter = LoginLimiter(LoginLimits(per_username=2, per_address=3))
    # Two attempts in flight at once use up the username's allowance before either finishes.
    assert limiter.begin("ann", "1.2.3.4") is None
    assert limiter.begin("ann", "1.2.3.4") is None
    assert limiter.begin("ann", "1.2.3.4") is not None
    # One of them had the right password: the username is clear, and the address is charged
    # only for the attempt that failed.
    limiter.succeeded("ann", "1.2.3.4")
    assert limiter.begin("ann", "1.2.3.4") is None
    assert limiter.begin("bob", "1.2.3.4") is None
    assert limiter.begin("cid", "1.2.3.4") is not None, "1 failed + 2 in flight = 3"
