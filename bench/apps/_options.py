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
    return options
