"""Figures for background tasks and the shared cache, in-process (no browser, no server).

    python bench/tasks.py            # the figures of docs/benchmarks.md ("Tasks and cache")
    python bench/tasks.py --quick    # tiny sizes, for the smoke test
    python bench/tasks.py --no-redis # without the Redis figure

1. Progress flood: a task reports progress 1 000 times a second for a few seconds; how many
   progress updates reach the page (the in-process driver's view of the socket) per second,
   and the most messages the session's outbox held at once (sampled every millisecond).
2. Start overhead: the time `start_task()` takes on the session thread (a trivial function,
   a pool large enough that nothing is refused), and from that call to the function running.
3. Cache hits: the time a call to a `@cache` function takes when its result is held, in this
   process's memory and in Redis (127.0.0.1:6379, a key prefix of its own, deleted after).

Prints a JSON document of the figures (n, p50, p90, p99, min, max in milliseconds).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/tasks.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anywidget  # noqa: E402
import traitlets  # noqa: E402

from bench.stats import summary  # noqa: E402
from numerous.apps import (  # noqa: E402
    MemoryBackend,
    RedisBackend,
    Task,
    TaskPool,
    cache,
    create_app,
    start_task,
)
from numerous.apps.testing import AppDriver  # noqa: E402


class Bench(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    go = traitlets.Int(0).tag(sync=True)
    fraction = traitlets.Float(0.0).tag(sync=True)
    done = traitlets.Unicode("").tag(sync=True)


def _app(folder: Path, on_go: Any) -> Any:
    def run_app() -> dict[str, Any]:
        bench = Bench()
        bench.observe(lambda change: on_go(bench, change["new"]), "go")
        return {"bench": bench}

    (folder / "index.html.j2").write_text("<main>{{ bench }}</main>")
    return create_app("index.html.j2", app_generator=run_app, base_dir=folder)


def progress_flood(folder: Path, seconds: float, rate: float = 1000.0) -> dict[str, Any]:
    def flood(task: Task[int]) -> int:
        reports, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            task.progress(elapsed / seconds, "")
            reports += 1
            time.sleep(max(0.0, reports / rate - (time.perf_counter() - start)))
        return reports

    def on_go(bench: Bench, _: int) -> None:
        start_task(flood, on_progress=lambda f, m: setattr(bench, "fraction", f or 0.0),
                   on_done=lambda n: setattr(bench, "done", str(n)))

    with AppDriver(_app(folder, on_go), timeout=seconds + 10) as driver:
        page = driver.open_session()
        outbox, peak, sampling = page.session.outbox, [0], [True]

        def sample() -> None:
            while sampling[0]:
                peak[0] = max(peak[0], len(outbox))
                time.sleep(0.001)

        sampler = threading.Thread(target=sample)
        sampler.start()
        before = len(page.view.log)
        page.set("bench", go=1)
        page.wait_for("bench", lambda view: view.done != "")
        sampling[0] = False
        sampler.join()
        updates = [m for m in page.view.log[before:]
                   if m.get("type") == "update" and "fraction" in m.get("state", {})]
        reports = int(page["bench"].done)
    return {"seconds": seconds, "reports": reports, "reports_per_s": round(reports / seconds),
            "updates_received": len(updates),
            "updates_per_s": round(len(updates) / seconds, 1), "outbox_peak": peak[0]}


def start_overhead(folder: Path, runs: int) -> dict[str, Any]:
    pool = TaskPool(workers=2, queue=runs + 10)
    calls: list[float] = []
    to_run: list[float] = []
    ran = threading.Semaphore(0)

    def trivial(task: Task[None], started: float) -> None:
        to_run.append((time.perf_counter() - started) * 1000)
        ran.release()

    def on_go(bench: Bench, _: int) -> None:
        for i in range(runs):
            began = time.perf_counter()
            start_task(trivial, began, key=f"t{i}", pool=pool)
            calls.append((time.perf_counter() - began) * 1000)
            if i % 50 == 49:
                for _ in range(50):  # keep the queue short: measure a start, not a backlog
                    ran.acquire(timeout=5)

    with AppDriver(_app(folder, on_go), timeout=60) as driver:
        driver.open_session().set("bench", go=1)
    return {"start_task_ms": summary(calls, 4), "call_to_running_ms": summary(to_run, 4)}


def cache_hits(backend: Any, runs: int) -> dict[str, Any]:
    @cache(backend=backend, name=f"bench-{secrets.token_hex(4)}")
    def chart(points: int) -> dict[str, list[float]]:
        return {"data": [float(i) for i in range(points)]}

    chart(200)  # the miss that fills it
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        chart(200)
        times.append((time.perf_counter() - began) * 1000)
    chart.clear()
    return summary(times, 4)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis figure")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    seconds, runs = (0.5, 200) if args.quick else (5.0, 2000)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results["progress_flood"] = progress_flood(folder, seconds)
        results["start"] = start_overhead(folder, runs)
    results["cache_hit_memory_ms"] = cache_hits(MemoryBackend(), runs * 10)
    if not args.no_redis:
        backend = RedisBackend(args.redis, prefix=f"numerous-bench:{secrets.token_hex(4)}:")
        results["cache_hit_redis_ms"] = cache_hits(backend, runs)
        backend.client.close()
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
