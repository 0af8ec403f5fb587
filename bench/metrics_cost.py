"""The cost of Prometheus metrics on the 1 000-session figure (docs/benchmarks.md#metrics).

    python bench/metrics_cost.py                 # 1 000 sessions each, 6 x 30 s windows, 3 runs
    python bench/metrics_cost.py --sessions 100 --seconds 5 --windows 2 --runs 1

Serves the counter app twice at once, with `metrics=False` and `metrics=True`, opens the
sessions on both, and lets each server's clients click in turn (A B B A ..., see
`bench/ab.py`), so that whatever else the machine does falls on both alike.
Reports, per run, each server's click latency p50 and p99 and its CPU per 1 000 clicks, and
the ratios metrics on / metrics off.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python bench/metrics_cost.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ab  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ab.add_arguments(parser, "bench/results/metrics-cost")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    grace = {"NUMEROUS_BENCH_GRACE": "5"}
    ab.compare({"off": {"NUMEROUS_BENCH_METRICS": "0", **grace},
                "on": {"NUMEROUS_BENCH_METRICS": "1", **grace}}, args)


if __name__ == "__main__":
    main()
