"""Page loads of server configurations compared in one run: the servers run side by side and
one Chromium loads their pages in turn (A B B A ...), a cold load and a warm reload each
time, so that a busier or quieter machine weighs on every configuration alike.

    python bench/page_ab.py --config early: --config plain:NUMEROUS_BENCH_EARLY=0 --rounds 15

A configuration is a name and the environment of its server (bench/apps/_options.py reads
the NUMEROUS_BENCH_* switches); the first is the baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/page_ab.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ab, browser, servers  # noqa: E402
from bench.run import template_keys  # noqa: E402
from bench.stats import summary  # noqa: E402


def compare(configs: dict[str, dict[str, str]], rounds: int, out: Path, app: str = "counter"
            ) -> dict[str, Any]:
    """`rounds` rounds of one cold load and one warm reload per configuration, in the order
    A B B A; each configuration's time to interactive, and its ratio to the first's."""
    keys = template_keys(app)
    order = list(configs)
    samples: dict[str, dict[str, list[float]]] = {name: {"cold": [], "warm": []}
                                                  for name in configs}
    with ExitStack() as stack:
        started = {name: stack.enter_context(servers.Server(
            servers.ours(), app, out / f"{name}.log", env=env)) for name, env in configs.items()}
        chromium = stack.enter_context(browser.chromium())
        for number in range(rounds + 1):  # round 0 warms both servers up
            for name in order if number % 2 else order[::-1]:
                loads = browser.page_loads(chromium, started[name].page_url, keys, runs=1,
                                           settle_ms=0)
                if number:
                    for kind in ("cold", "warm"):
                        samples[name][kind].append(loads[kind]["tti_ms"]["p50"])
    base = order[0]
    found: dict[str, Any] = {}
    for name in order:
        found[name] = {f"tti_{kind}_ms": summary(values, 1)
                       for kind, values in samples[name].items()}
    for name in order[1:]:
        found[name]["vs_" + base] = {
            key: round(found[name][key]["p50"] / found[base][key]["p50"], 3)
            for key in ("tti_cold_ms", "tti_warm_ms")}
    (out / "results.json").write_text(json.dumps(found, indent=2))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ab.add_config_argument(parser)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--app", default="counter")
    parser.add_argument("--out", type=Path, default=Path("bench/results/page-ab"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = ab.configs(args.config)
    for name, figures in compare(chosen, args.rounds, args.out, args.app).items():
        print(name, "cold p50", figures["tti_cold_ms"]["p50"], "ms, warm p50",
              figures["tti_warm_ms"]["p50"], "ms", figures.get(f"vs_{next(iter(chosen))}", ""))


if __name__ == "__main__":
    main()
