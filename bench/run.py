"""Run the benchmark suite: this framework, numerous-apps 0.6.2 and the peers, same machine.

    python bench/run.py            # everything, ours and the reference (about 35 minutes)
    python bench/run.py --quick    # every figure at tiny sizes, ours only (under 2 minutes)
    python bench/run.py --only round_trip,memory --no-ref
    python bench/run.py --frameworks ours,streamlit,shiny,solara,panel,nicegui --only load,click,idle
    python bench/run.py --frameworks ours,streamlit,shiny,solara,panel,nicegui --only chart

Results go to bench/results/<timestamp>/ (results.json, summary.md, plots, server logs) and
bench/results/latest/ (a copy). `--publish` also copies the plots to bench/plots/ for the docs.
See docs/benchmarks.md for what each figure measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import browser, chart, clients, hotreload, loadgen, report, servers  # noqa: E402

FIGURES = ["load", "click", "idle", "burst", "hot_reload", "chart", "round_trip", "memory",
           "sustained", "ramp"]
BROWSER_FIGURES = {"load", "click", "idle", "burst", "hot_reload", "chart"}
ALIASES = {"concurrency": {"sustained", "ramp"}}


@dataclass
class Sizes:
    load_runs: int = 20
    browser_clicks: int = 100
    rtt_clicks: int = 300
    memory_counts: tuple[int, ...] = (100, 1000)
    grace: float = 5.0
    settle: float = 3.0
    sustained_sessions: int = 1000
    sustained_seconds: float = 60.0
    ramp_steps: tuple[int, ...] = (100, 250, 500, 1000, 1500, 2000)
    ramp_seconds: float = 20.0
    burst_sets: int = 10_000
    burst_runs: int = 5
    hot_runs: int = 5
    idle_pages: tuple[int, ...] = (10, 30)
    chart_updates: int = 20


# A grace of 3 s: on a loaded machine a heavy page can open its WebSocket more than 1 s after
# its GET, and then finds its session gone (the page never becomes interactive).
QUICK = Sizes(load_runs=1, browser_clicks=5, rtt_clicks=20, memory_counts=(5, 10), grace=3.0,
              settle=1.0, sustained_sessions=10, sustained_seconds=3.0, ramp_steps=(5, 10),
              ramp_seconds=2.0, burst_sets=10_000, burst_runs=1, hot_runs=1,
              idle_pages=(2, 4), chart_updates=3)


def template_keys(app: str, framework: servers.Framework | None = None) -> list[str]:
    """The widget keys an app's template places, in order ([] for a peer's app)."""
    if framework is not None and framework.peer is not None:
        return []
    text = (servers.APPS / app / "index.html.j2").read_text()
    return list(dict.fromkeys(re.findall(r"{{\s*(\w+)\s*}}", text)))


class Suite:
    def __init__(self, frameworks: list[servers.Framework], sizes: Sizes, out: Path,
                 meta: dict[str, Any], no_deflate: bool = False) -> None:
        self.frameworks = frameworks
        self.no_deflate = no_deflate
        self.sizes = sizes
        self.out = out
        self.results: dict[str, Any] = {"meta": meta, "figures": {}}

    # --- plumbing -----------------------------------------------------------------------

    def server(self, framework: servers.Framework, app: str, tag: str) -> servers.Server:
        log = self.out / "logs" / f"{framework.name}-{tag}.log"
        env = {"NUMEROUS_BENCH_GRACE": str(self.sizes.grace),
               "NUMEROUS_BENCH_BURST": str(self.sizes.burst_sets),
               "NUMEROUS_BENCH_GC_LOG": str(self.gc_log(framework, tag))}
        # --no-deflate serves ours as `numerous run` does: no per-message deflate (about
        # 49 KiB of zlib state per connection).
        extra = ("--ws-per-message-deflate", "false") if self.no_deflate and framework.is_ours \
            else ()
        return servers.Server(framework, app, log, env=env, uvicorn_args=extra)

    def gc_log(self, framework: servers.Framework, tag: str) -> Path:
        """Where the server's garbage collections are timed (see bench/apps/_options.py)."""
        return self.out / "logs" / f"{framework.name}-{tag}-gc.json"

    def record(self, key: str, framework: servers.Framework,
               measure: Callable[[], Any]) -> None:
        """Run one figure for one framework; a failure is recorded and the suite goes on."""
        started = time.monotonic()
        busy = _cpu_times()
        print(f"[bench] {key} / {framework.name} …", flush=True)
        try:
            value = measure()
        except Exception as exc:  # noqa: BLE001 - one broken figure must not lose the others
            traceback.print_exc()
            value = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        machine = {"wall_s": round(time.monotonic() - started, 1),
                   "machine_busy": _busy_since(busy), "loadavg_1m": os.getloadavg()[0]}
        if isinstance(value, dict):
            value.update(machine)
        self.results["figures"].setdefault(key, {})[framework.name] = value
        self.results.setdefault("machine_load", {})[f"{key}/{framework.name}"] = machine
        print(f"[bench] {key} / {framework.name}: {_brief(value)}", flush=True)
        self.save()

    def save(self) -> None:
        (self.out / "results.json").write_text(json.dumps(self.results, indent=1))

    # --- figures --------------------------------------------------------------------------

    def browser_figures(self, only: set[str]) -> None:
        # Figure by figure, each framework in turn, so that both meet the same machine state.
        with browser.chromium() as chromium:
            self.results["meta"]["versions"]["chromium"] = chromium.version
            if "load" in only:
                for app in ("counter", "dashboard", "heavy"):
                    for fw in [fw for fw in self.frameworks if fw.has_app(app)]:
                        self.record(f"load_{app}", fw, lambda fw=fw, app=app: self._loads(
                            chromium, fw, app))
            for fw in self.frameworks if "click" in only else []:
                self.record("click_browser", fw, lambda fw=fw: self._clicks(chromium, fw))
            if "click" in only:
                with browser.with_args(chromium, (browser.NO_INPUT_DEFERRAL,)) as undeferred:
                    for fw in self.frameworks:
                        self.record("click_browser_nodefer", fw,
                                    lambda fw=fw: self._clicks(undeferred, fw))
            for fw in self.frameworks if "idle" in only else []:
                self.record("idle_pages", fw, lambda fw=fw: self._idle(chromium, fw))
            ours_and_ref = [fw for fw in self.frameworks if fw.peer is None]
            for fw in ours_and_ref if "burst" in only else []:
                self.record("burst_browser", fw, lambda fw=fw: self._burst(chromium, fw))
            for fw in self.frameworks if "hot_reload" in only else []:
                self.record("hot_reload", fw, lambda fw=fw: hotreload.hot_reload(
                    chromium, fw, self.sizes.hot_runs, self.out / "logs" / f"{fw.name}-dev.log"))
            dashboards = [fw for fw in self.frameworks if fw.has_app("dashboard")]
            for fw in dashboards if "chart" in only else []:
                self.record("chart_browser", fw, lambda fw=fw: self._chart(chromium, fw))

    def _loads(self, chromium: Any, fw: servers.Framework, app: str) -> Any:
        with self.server(fw, app, f"load-{app}") as srv:
            return browser.page_loads(chromium, srv.page_url, template_keys(app, fw),
                                      self.sizes.load_runs, spec=fw.page,
                                      dashboard=app == "dashboard")

    def _clicks(self, chromium: Any, fw: servers.Framework) -> Any:
        with self.server(fw, "counter", "click") as srv:
            return browser.click_latency(chromium, srv.page_url, template_keys("counter", fw),
                                         self.sizes.browser_clicks, spec=fw.page)

    def _idle(self, chromium: Any, fw: servers.Framework) -> Any:
        s = self.sizes
        with self.server(fw, "counter", "idle") as srv:
            return browser.idle_sessions(
                chromium, srv.page_url, template_keys("counter", fw), list(s.idle_pages),
                lambda: (srv.rss_kib(), srv.threads()), s.grace, s.settle, spec=fw.page)

    def _chart(self, chromium: Any, fw: servers.Framework) -> Any:
        with self.server(fw, "dashboard", "chart") as srv:
            return chart.chart_latency(chromium, srv.page_url, template_keys("dashboard", fw),
                                       self.sizes.chart_updates, spec=fw.page)

    def _burst(self, chromium: Any, fw: servers.Framework) -> Any:
        with self.server(fw, "burst", "burst") as srv:
            return browser.burst_in_browser(chromium, srv.url + "/", template_keys("burst"),
                                            self.sizes.burst_sets, self.sizes.burst_runs)

    def load_figures(self, only: set[str]) -> None:
        s = self.sizes
        speaking = [fw for fw in self.frameworks if clients.speaks(fw.name)]
        for fw in [f for f in speaking if f.has_app("burst")] if "burst" in only else []:
            self.record("burst_raw", fw, lambda fw=fw: self._with(
                fw, "burst", lambda srv: loadgen.burst(fw.name, srv.url, s.burst_sets)))
        for fw in speaking if "round_trip" in only else []:
            self.record("round_trip", fw, lambda fw=fw: self._with(
                fw, "counter", lambda srv: loadgen.round_trip(fw.name, srv.url, s.rtt_clicks)))
        for fw in speaking if "memory" in only else []:
            self.record("memory", fw, lambda fw=fw: self._with(
                fw, "counter", lambda srv: loadgen.idle_memory(
                    fw.name, srv.url, lambda: (srv.rss_kib(), srv.threads()),
                    list(s.memory_counts), s.grace, s.settle)))
        for fw in speaking if "sustained" in only else []:
            self.record("sustained", fw, lambda fw=fw: self._with(
                fw, "counter", lambda srv: loadgen.sustained(
                    fw.name, srv.url, s.sustained_sessions, s.sustained_seconds,
                    probe=lambda: (srv.rss_kib(), srv.threads()))))
        for fw in speaking if "ramp" in only else []:
            self.record("ramp", fw, lambda fw=fw: self._with(
                fw, "counter", lambda srv: loadgen.ramp(
                    fw.name, srv.url, list(s.ramp_steps), s.ramp_seconds)))
            ramp = self.results["figures"]["ramp"].get(fw.name)
            if isinstance(ramp, list):
                self.results["figures"].setdefault("knee", {})[fw.name] = {
                    "p99": loadgen.knee(ramp, "p99"), "p50": loadgen.knee(ramp, "p50"),
                    # Over 100 ms at the first step already: the knee is at most that step.
                    "p99_at_most": (ramp[0]["ms"]["p99"] or 0) > 100,
                    "p50_at_most": (ramp[0]["ms"]["p50"] or 0) > 100,
                    "steps_run": [step["sessions"] for step in ramp]}
                self.save()

    def _with(self, fw: servers.Framework, app: str,
              scenario: Callable[[servers.Server], Any]) -> Any:
        log = self.gc_log(fw, app)
        log.unlink(missing_ok=True)
        with self.server(fw, app, app) as srv:
            result = loadgen.run(scenario(srv))
            time.sleep(1.5)  # the server writes its collections about once a second
        if isinstance(result, dict):
            result["server_gc"] = server_collections(log, result.get("window"))
        return result


def server_collections(log: Path, window: list[float] | None) -> dict[str, Any]:
    """The server's longest garbage-collection pauses: over its whole run and, when the
    figure has a measuring window (unix times), within it."""
    try:
        data = json.loads(log.read_text())
    except (OSError, ValueError):
        return {"error": "no collection log (the server did not load bench/apps/_options.py)"}
    result: dict[str, Any] = {"max_ms": data["max_ms"], "counts": data["counts"]}
    if window:
        inside = [p for p in data["pauses"] if window[0] <= p[0] <= window[1]]
        result["in_window_max_ms"] = max((p[2] for p in inside), default=0.0)
        result["in_window_gen2"] = [p[2] for p in inside if p[1] == 2][:20]
    return result


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _busy_since(start: tuple[int, int]) -> float:
    """Share of all cores busy since `start`: this suite's processes and anything else."""
    busy, total = _cpu_times()
    return round((busy - start[0]) / max(1, total - start[1]), 3)


def _brief(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) < 300 else text[:297] + "..."


def metadata(frameworks: list[servers.Framework], quick: bool) -> dict[str, Any]:
    versions = {}
    for fw in frameworks:
        packages = ["numerous-apps", "numerous-widgets", "uvicorn"] if fw.peer is None else \
            [spec.split("==")[0] for spec in fw.peer.packages if "==" in spec]
        script = ("import importlib.metadata as m, sys; print(*(f'{p} {m.version(p)}' for p "
                  "in sys.argv[1:]), 'Python', sys.version.split()[0])")
        versions[fw.name] = subprocess.run([fw.python, "-c", script, *packages],
                                           capture_output=True, text=True,
                                           check=False).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                            text=True, cwd=servers.BENCH).stdout.strip()
    return {"mode": "quick" if quick else "full", "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "commit": commit or "unknown",
            "machine": f"{os.cpu_count()} cores, {cpu}, {platform.system()} "
                       f"{platform.release()}",
            "versions": versions}


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, ours only: a smoke test of every figure")
    parser.add_argument("--no-ref", action="store_true", help="skip numerous-apps 0.6.2")
    parser.add_argument("--frameworks", default=None,
                        help="comma-separated, among: ours, reference, "
                             f"{', '.join(servers.PEERS)} (default: ours and reference; "
                             "ours alone with --quick or --no-ref); a peer's venv is made on "
                             "first use")
    parser.add_argument("--only", default=",".join(FIGURES),
                        help=f"comma-separated figures among: {', '.join(FIGURES)} "
                             "(concurrency = sustained,ramp)")
    parser.add_argument("--set", default="", metavar="NAME=VALUE,...",
                        help="override sizes, e.g. load_runs=5,browser_clicks=30,idle_pages=10+30")
    parser.add_argument("--no-deflate", action="store_true",
                        help="serve ours without WebSocket per-message deflate, as `numerous "
                             "run` does (the suite's default is uvicorn's: deflate on)")
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    parser.add_argument("--publish", action="store_true",
                        help="copy the plots and summary to bench/plots/ for docs/benchmarks.md")
    args = parser.parse_args(argv)
    only = set().union(*(ALIASES.get(name, {name}) for name in args.only.split(",")))
    unknown = only - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = (args.out or servers.BENCH / "results" / (stamp + ("-quick" if args.quick else ""))
           ).resolve()  # the servers run in their app's folder and write their logs here
    (out / "logs").mkdir(parents=True, exist_ok=True)
    names = args.frameworks.split(",") if args.frameworks else \
        ["ours"] + ([] if args.quick or args.no_ref else ["reference"])
    frameworks = servers.select(names, out / "logs")
    suite = Suite(frameworks, _sizes(QUICK if args.quick else Sizes(), args.set), out,
                  metadata(frameworks, args.quick), no_deflate=args.no_deflate)
    suite.results["meta"]["ours_deflate"] = not args.no_deflate
    if only & BROWSER_FIGURES:
        suite.browser_figures(only)
    suite.load_figures(only)
    finish(suite.results, out, args.publish)
    return out


def _sizes(base: Sizes, overrides: str) -> Sizes:
    """`base` with NAME=VALUE overrides; a tuple's items are joined by `+`."""
    changes: dict[str, Any] = {}
    for item in filter(None, overrides.split(",")):
        name, _, text = item.partition("=")
        current = getattr(base, name)
        if isinstance(current, tuple):
            changes[name] = tuple(type(current[0])(x) for x in text.split("+"))
        else:
            changes[name] = type(current)(text)
    return replace(base, **changes)


def finish(results: dict[str, Any], out: Path, publish: bool) -> None:
    (out / "results.json").write_text(json.dumps(results, indent=1))
    plots = report.plot(results, out) + report.plot_peers(results, out)
    summary = report.markdown(results)
    (out / "summary.md").write_text(summary)
    latest = out.parent / "latest"
    if out.parent == servers.BENCH / "results":
        shutil.rmtree(latest, ignore_errors=True)
        shutil.copytree(out, latest)
    if publish:
        target = servers.BENCH / "plots"
        target.mkdir(exist_ok=True)
        for path in plots:
            shutil.copy(path, target / path.name)
        shutil.copy(out / "summary.md", target / "summary.md")
    print(summary)
    print(f"[bench] results in {out}")


if __name__ == "__main__":
    main()
