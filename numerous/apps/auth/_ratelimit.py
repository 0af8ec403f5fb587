"""Login attempt limits per username-and-address and per address, against password guessing.

Failed logins are counted in a sliding window, under two keys: the username *from one address*,
and the address whatever the username. Once either has too many, further attempts are refused
with 429 and `Retry-After` before any password is checked, so a blocked attacker learns nothing
and costs no hashing.

There is deliberately no count per username alone: anyone who knows a username could then lock
its owner out (five wrong passwords from anywhere, then one a minute), and the owner, signing in
from their own address, would be refused with the right password. Failures from other addresses
never count against the owner's. IPv6 addresses are counted per /64 network, the block one
subscriber usually gets, so one attacker cannot make up a fresh address for every guess.

An attempt counts as failed from the moment it is admitted (`begin`) until its password proves
right, so attempts sent in parallel cannot all pass the check before the first failure is
recorded. Memory is bounded: the oldest keys are dropped first.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed within `window` seconds."""

    per_username: int = 5
    """Failed logins for one username from one address (IPv6: one /64 network)."""
    per_address: int = 20
    """Failed logins from one address, for any usernames."""
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
        waits = [self._wait(_user_key(username, address), self.limits.per_username),
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
        for key in (_user_key(username, address), _address_key(address)):
            stamps = self._failures.pop(key, None) or deque()
            stamps.append(now)
            self._failures[key] = stamps
        while len(self._failures) > self.limits.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        """A correct password clears the username's count at `address`; the attempt admitted
        by `begin` no longer counts against the address (its earlier failures still do)."""
        self._failures.pop(_user_key(username, address), None)
        stamps = self._failures.get(_address_key(address))
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


def _user_key(username: str, address: str) -> str:
    return f"u:{_network(address)} {username.strip().casefold()[:256]}"


def _address_key(address: str) -> str:
    return "a:" + _network(address)


def _network(address: str) -> str:
    """The address, or for IPv6 its /64 network (an IPv4 address in IPv6 form: itself)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network((parsed, 64), strict=False))
