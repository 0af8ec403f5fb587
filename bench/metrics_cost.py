"""The cost of Prometheus metrics on the 1 000-session figure (docs/benchmarks.md#metrics).

    python bench/metrics_cost.py                 # 1 000 sessions x 60 s, off/on/off/on
    python bench/metrics_cost.py --sessions 100 --seconds 10 --rounds 1

Serves the counter app with `metrics=False` and `metrics=True` in turn (alternating, so that
whatever else the machine does falls on both) and reports, for each, the click latency p50
and p99 and the server process's CPU seconds (user + system) during the clicking.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/metrics_cost.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen, servers  # noqa: E402


def one(metrics: bool, sessions: int, seconds: float, out: Path) -> dict[str, Any]:
    env = {"NUMEROUS_BENCH_METRICS": "1" if metrics else "0", "NUMEROUS_BENCH_GRACE": "5"}
    log = out / f"metrics-{'on' if metrics else 'off'}.log"
    with servers.Server(servers.ours(), "counter", log, env=env) as server:
        return {"metrics": metrics, **loadgen.clicking_cost(server, sessions, seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/results/metrics-cost"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for _ in range(args.rounds):
        for metrics in (False, True):
            runs.append(one(metrics, args.sessions, args.seconds, args.out))
            print(json.dumps(runs[-1]), flush=True)
    for metrics in (False, True):
        mine = [r for r in runs if r["metrics"] is metrics]
        print(f"metrics {'on ' if metrics else 'off'}: "
              f"p50 {statistics.median(r['p50'] for r in mine):.2f} ms, "
              f"p99 {statistics.median(r['p99'] for r in mine):.2f} ms, "
              f"CPU {statistics.median(r['cpu_s'] for r in mine):.1f} s")
    (args.out / "results.json").write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
