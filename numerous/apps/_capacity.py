"""How many sessions this machine can hold, and how fast one address may open new ones.

Every session of an ordinary app is a thread. A flood of page loads (one address, or a
cross-site page making its visitors' browsers load ours) would otherwise open sessions until
the process can start no more threads, and then every page load fails. So the default cap on
live sessions is worked out from the machine: the threads the process may start (the lowest
of `RLIMIT_NPROC`, the kernel's `threads-max` and the cgroup's `pids.max`) and the memory
available, at a generous estimate per session; and each client address may open only so many
new sessions a minute.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

SESSION_BYTES = 2 * 1024 * 1024
"""Memory set aside per session when the cap is worked out (an idle counter session takes
about 170 KiB; an app's own widgets and data take more)."""

THREAD_SHARE = 0.8
"""Of the threads the process may start, the share sessions may take: the server, its
thread pool and other processes of the same user need the rest."""

_MIN_CAP = 16


def machine_session_cap(threads: int | None = -1, memory: int | None = -1) -> int:
    """The default `max_sessions`: what the thread limit and the available memory allow.

    `threads` and `memory` (bytes) are read from the machine unless given; None means no
    limit of that kind."""
    threads = _thread_limit() if threads == -1 else threads
    memory = _available_memory() if memory == -1 else memory
    caps = [100_000]
    if threads is not None:
        caps.append(int(threads * THREAD_SHARE) - 32)
    if memory is not None:
        caps.append(memory // SESSION_BYTES)
    return max(_MIN_CAP, min(caps))


def _thread_limit() -> int | None:
    found = []
    soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    if soft != resource.RLIM_INFINITY and soft > 0:
        found.append(int(soft))
    for path in ("/proc/sys/kernel/threads-max", "/sys/fs/cgroup/pids.max",
                 "/sys/fs/cgroup/pids/pids.max"):
        found += _number(path)
    return min(found) if found else None


def _available_memory() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    pages, size = os.sysconf_names.get("SC_AVPHYS_PAGES"), os.sysconf_names.get("SC_PAGE_SIZE")
    if pages is None or size is None:
        return None
    return int(os.sysconf(pages)) * int(os.sysconf(size))


def _number(path: str) -> list[int]:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return []
    return [int(text)] if text.isdigit() and int(text) > 0 else []


class AddressRate:
    """New sessions per client address: at most `per_minute` in any minute (a token bucket
    per address; addresses that have been quiet for a minute are forgotten)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        if len(self._buckets) > 10_000:
            self._forget(now)
        tokens, stamp = self._buckets.get(address, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - stamp) * self.per_minute / 60)
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            return False
        self._buckets[address] = (tokens - 1, now)
        return True

    def _forget(self, now: float) -> None:
        self._buckets = {a: (t, s) for a, (t, s) in self._buckets.items() if now - s < 60}
