"""The dashboard's data, the same for every framework: a 10 000-point series chosen by a
dropdown (the wave) and a slider (its frequency); the table shows its first 1 000 rows."""

from __future__ import annotations

import math

POINTS = 10_000
ROWS = 1_000
WAVES = ["sine", "square", "sawtooth"]


def series(wave: str, frequency: int) -> tuple[list[float], list[float]]:
    """x in [0, 1) and the wave's value at each x, POINTS points."""
    xs = [i / POINTS for i in range(POINTS)]
    phases = [(x * frequency) % 1.0 for x in xs]
    if wave == "square":
        ys = [1.0 if p < 0.5 else -1.0 for p in phases]
    elif wave == "sawtooth":
        ys = [2.0 * p - 1.0 for p in phases]
    else:
        ys = [math.sin(2 * math.pi * p) for p in phases]
    return xs, ys


def rows(wave: str, frequency: int) -> list[dict[str, float]]:
    """The table: the first ROWS points as records."""
    xs, ys = series(wave, frequency)
    return [{"x": round(x, 4), "y": round(y, 4)} for x, y in zip(xs[:ROWS], ys[:ROWS])]
