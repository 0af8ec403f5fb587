"""Login attempt limits per username and per client address, against password guessing.

Failed logins are counted in a sliding window. Once a username or an address has too many,
further attempts are refused with 429 and `Retry-After` before any password is checked, so a
blocked attacker learns nothing and costs no hashing. An attempt counts as failed from the
moment it is admitted (`begin`) until its password proves right, so attempts sent in parallel
cannot all pass the check before the first failure is recorded. Memory is bounded: the oldest
keys are dropped first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed within `window` seconds."""

    per_username: int = 5
    per_address: int = 20
    window: float = 300.0
    max_keys: int = 50_000


class LoginLimiter:
    def __init__(self, limits: LoginLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or LoginLimits()
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until an attempt is allowed again, or None if it is allowed now."""
        waits = [self._wait(_user_key(username), self.limits.per_username),
                 self._wait(_address_key(address), self.limits.per_address)]
        longest = max(waits)
        return math.ceil(longest) if longest > 0 else None

    def begin(self, username: str, address: str) -> int | None:
        """Admit a login attempt, counted as failed until `succeeded`: None if admitted,
        else the seconds until one is allowed again."""
        wait = self.retry_after(username, address)
        if wait is None:
            self.failed(username, address)
        return wait

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        for key in (_user_key(username), _address_key(address)):
            stamps = self._failures.pop(key, None) or deque()
            stamps.append(now)
            self._failures[key] = stamps
        while len(self._failures) > self.limits.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str | None = None) -> None:
        """A correct password clears the username's count; an attempt admitted by `begin`
        from `address` no longer counts against it (its earlier failures still do)."""
        self._failures.pop(_user_key(username), None)
        stamps = self._failures.get(_address_key(address)) if address is not None else None
        if stamps:
            stamps.pop()

    def _wait(self, key: str, allowed: int) -> float:
        stamps = self._failures.get(key)
        if not stamps:
            return 0.0
        cutoff = self._clock() - self.limits.window
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
            return 0.0
        if len(stamps) < allowed:
            return 0.0
        return stamps[len(stamps) - allowed] - cutoff


def _user_key(username: str) -> str:
    return "u:" + username.strip().casefold()[:256]


def _address_key(address: str) -> str:
    return "a:" + address
