"""Options the bench apps read from the environment, shared by both frameworks.

The same app files are served by this repository's framework and by numerous-apps 0.6.2, so
only keyword arguments that the running framework's `create_app` accepts are passed.
"""

from __future__ import annotations

import inspect
import os
from typing import Any


def app_options(create_app: Any) -> dict[str, Any]:
    """`dev` and, where supported, `session_grace` and `metrics` from NUMEROUS_BENCH_DEV,
    _GRACE and _METRICS (and no limit on new sessions per address: the load generator is one
    address)."""
    watch_collections()
    options: dict[str, Any] = {"dev": os.environ.get("NUMEROUS_BENCH_DEV", "0") == "1"}
    grace = os.environ.get("NUMEROUS_BENCH_GRACE")
    parameters = inspect.signature(create_app).parameters
    if grace and "session_grace" in parameters:
        options["session_grace"] = float(grace)
    if "limits" in parameters:
        # The load benchmark opens thousands of sessions from one address on purpose.
        from numerous.apps import SessionLimits
        if "max_new_sessions_per_minute" in SessionLimits.__dataclass_fields__:
            options.pop("session_grace", None)
            options["limits"] = SessionLimits(grace=float(grace or 60.0),
                                              max_new_sessions_per_minute=None)
    if "metrics" in parameters:  # NUMEROUS_BENCH_METRICS=1: the cost of Prometheus metrics
        options["metrics"] = os.environ.get("NUMEROUS_BENCH_METRICS", "0") == "1"
    if os.environ.get("NUMEROUS_BENCH_EARLY") == "0":
        without_early_socket()
    return options


def without_early_socket() -> None:
    """NUMEROUS_BENCH_EARLY=0: pages without the inline script that opens the WebSocket before
    the client loads (bench/page_ab.py measures what it is worth)."""
    from numerous.apps import _assets

    client = _assets.client_files()
    client.early_script = client.early_element = ""


def watch_collections() -> None:
    """With NUMEROUS_BENCH_GC_LOG=<path>, time every garbage collection of this server process
    (a `gc.callbacks` timer) and keep the file at <path> up to date (JSON, about once a second):
    `pauses` lists [unix time, generation, ms] of each collection of generation 1 or 2 and of
    any over 2 ms, `max_ms` the longest per generation. The bench reads it after a figure."""
    path = os.environ.get("NUMEROUS_BENCH_GC_LOG")
    if not path:
        return
    import gc
    import json
    import threading
    import time

    started: list[float] = [0.0]
    pauses: list[list[float]] = []
    longest = {0: 0.0, 1: 0.0, 2: 0.0}
    counts = {0: 0, 1: 0, 2: 0}

    def timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        generation = info["generation"]
        counts[generation] += 1
        longest[generation] = max(longest[generation], ms)
        if generation > 0 or ms > 2:
            pauses.append([round(time.time(), 3), generation, round(ms, 2)])

    def write() -> None:
        written = -1
        while True:
            time.sleep(1.0)
            if sum(counts.values()) != written:
                written = sum(counts.values())
                text = json.dumps({"max_ms": longest, "counts": counts, "pauses": pauses[-5000:]})
                with open(path, "w") as out:
                    out.write(text)

    gc.callbacks.append(timer)
    threading.Thread(target=write, daemon=True, name="bench-gc-log").start()
