"""Summaries of samples: median and tail percentiles, without numpy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0–100) with linear interpolation; None without samples."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples: Sequence[float], digits: int = 2) -> dict[str, Any]:
    """n, median, p90, p99, min and max of `samples`, rounded."""

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, digits)

    return {"n": len(samples), "p50": r(percentile(samples, 50)), "p90": r(percentile(samples, 90)),
            "p99": r(percentile(samples, 99)), "min": r(min(samples, default=None)),
            "max": r(max(samples, default=None))}
