"""Server configurations under the same load, compared in one run (metrics_cost.py and
store_cost.py): the servers run side by side and their clients click in turn
(`loadgen.interleaved_cost`), and a run reports each one's latency and CPU per click and their
ratios to the first."""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/ab.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen, servers  # noqa: E402


def compare(configs: dict[str, dict[str, str]], args: argparse.Namespace, app: str = "counter"
            ) -> list[dict[str, Any]]:
    """`args.runs` interleaved runs of the servers `configs` (name -> environment); the first
    is the baseline. Prints a line per run and returns the runs."""
    runs = []
    base = next(iter(configs))
    if args.pin:
        os.sched_setaffinity(0, {0})  # the load generator on the first core
    for number in range(1, args.runs + 1):
        with ExitStack() as stack:
            started = {name: stack.enter_context(servers.Server(
                servers.ours(), app, args.out / f"run{number}-{name}.log", env=env))
                for name, env in configs.items()}
            for server in started.values():
                if args.pin:
                    os.sched_setaffinity(server.pid, {1})  # every server on the second
            found = loadgen.interleaved_cost(started, args.sessions, args.seconds, args.windows)
        for name, figures in found.items():
            if name != base:
                figures["vs_" + base] = {
                    key: round(figures[key] / found[base][key], 3) if found[base][key] else None
                    for key in ("p50", "p99", "cpu_ms_per_click")}
        runs.append(found)
        print(f"run {number}: " + "; ".join(
            f"{name} p50 {f['p50']} ms, p99 {f['p99']} ms, CPU {f['cpu_ms_per_click']:.3f} ms"
            f"/click, {f['errors']} errors" + (
                f" (x{f['vs_' + base]['p99']} p99, x{f['vs_' + base]['cpu_ms_per_click']} CPU)"
                if "vs_" + base in f else "")
            for name, f in found.items()), flush=True)
    (args.out / "results.json").write_text(json.dumps(runs, indent=2))
    return runs


def add_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    """The options of an interleaved comparison (`compare` reads them)."""
    parser.add_argument("--sessions", type=int, default=1000, help="sessions on each server")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of one window")
    parser.add_argument("--windows", type=int, default=3,
                        help="windows of each server per run (clicking in turn)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(out))
    parser.add_argument("--pin", action="store_true",
                        help="the load generator on the first core, the servers on the second "
                             "(fewer scheduling differences between the server processes)")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config NAME:VAR=V,...`, repeated (read with `configs`)."""
    parser.add_argument("--config", action="append", required=True, metavar="NAME:VAR=V,...",
                        help="a server configuration: a name and its environment; the first "
                             "is the baseline")


def configs(options: list[str]) -> dict[str, dict[str, str]]:
    """The `--config` options as name -> environment, in the order given."""
    found = {}
    for option in options:
        name, _, assignments = option.partition(":")
        found[name] = dict(a.split("=", 1) for a in assignments.split(",") if a)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_config_argument(parser)
    add_arguments(parser, "bench/results/ab")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    compare(configs(args.config), args)


if __name__ == "__main__":
    main()
