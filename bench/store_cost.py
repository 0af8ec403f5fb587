"""The session store's cost and its rebuild time (docs/benchmarks.md#session-store).

    python bench/store_cost.py                    # 1 000 sessions each, 3 interleaved runs, rebuild x 3
    python bench/store_cost.py --sessions 100 --seconds 5 --windows 2 --runs 1

Two measurements, against the real Redis (`--redis`, keys under a prefix of their own, deleted
afterwards):

- **cost**: the counter app served without and with `NUMEROUS_STORE`, side by side, their
  `--sessions` sessions each clicking once a second in turn (`bench/ab.py`); click latency p50
  and p99, and each server's CPU per click.
- **rebuild**: `--sessions` sessions click for a few seconds on one server, which is then
  killed (SIGKILL); a new server starts, and every session comes back at once, as pages do
  after losing their instance: a page load, then a hello naming the lost session. The time
  from the first request to each session's `ready` (p50, p99, all), and sessions whose counter
  did not come back with the value they had.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/store_cost.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import redis  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench import ab, loadgen, servers  # noqa: E402

PHASES: list[float] = []
"""Seconds each rebuilt session waited for its page (the rest is the hello and the store)."""
CONFIG_RE = re.compile(rb'id="numerous-config" type="application/json">(.*?)</script>')


def _env(store: str | None, prefix: str) -> dict[str, str]:
    # A long grace: on a busy machine a thousand page loads at once can take longer than 30 s
    # to render, and a session must not expire before its page is sent.
    env = {"NUMEROUS_BENCH_GRACE": "120", "NUMEROUS_STORE": store or "",
           "NUMEROUS_STORE_PREFIX": prefix}
    return env


async def _resume(url: str, client: Any) -> tuple[float, bool]:
    """One lost page coming back to `url`: page load, hello naming its session; the seconds
    until `ready`, and whether its counter came back (False also when it failed)."""
    started = time.perf_counter()
    try:
        return await _come_back(url, client, started)
    except Exception as exc:  # noqa: BLE001 - counted as lost, reported
        print(f"a session did not come back: {type(exc).__name__}: {exc}", file=sys.stderr)
        return time.perf_counter() - started, False


async def _come_back(url: str, client: Any, started: float) -> tuple[float, bool]:
    cookie = {"Cookie": f"numerous_client={client.token}"}
    async with httpx.AsyncClient(timeout=60) as http:
        page = await http.get(url + "/", headers=cookie)
    page.raise_for_status()
    PHASES.append(time.perf_counter() - started)
    match = CONFIG_RE.search(page.content)
    assert match is not None
    config = json.loads(match.group(1))
    counter = config["widgets"]["counter"]
    value = None
    ws_url = "ws" + url.removeprefix("http") + config["ws"]
    async with connect(ws_url, additional_headers=cookie, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "session": config["session"],
                                  "resume": client.session}))
        while (message := json.loads(await ws.recv()))["type"] != "ready":
            if message["type"] == "open" and message["id"] == counter:
                value = float(message["state"].get("value", 0))
        took = time.perf_counter() - started
    return took, value == client.value


def rebuild(store: str, prefix: str, sessions: int, out: Path) -> dict[str, Any]:
    env = _env(store, prefix)
    first = servers.Server(servers.ours(), "counter", out / "rebuild-first.log", env=env)
    with first:
        async def click() -> list[Any]:
            async with loadgen.http_client() as http:
                clients, _ = await loadgen.open_clients("ours", first.url, sessions, http)
                await loadgen.drive(clients, 5.0)
                await asyncio.sleep(0.6)  # past the store's write round
                return clients

        clients = loadgen.run(click())
        values = [c.value for c in clients]
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
        for client in clients:  # their sockets went with the server
            client.closed = True
    assert any(values), "nobody clicked"
    with servers.Server(servers.ours(), "counter", out / "rebuild-second.log", env=env) as second:
        httpx.get(second.url + "/", timeout=60)  # the instance taking over is already warm
        async def come_back() -> tuple[list[tuple[float, bool]], float]:
            started = time.perf_counter()
            done = await asyncio.gather(*(_resume(second.url, c) for c in clients))
            return done, time.perf_counter() - started

        done, total = loadgen.run(come_back())
    times = sorted(t for t, _ in done)
    pages = sorted(PHASES)
    PHASES.clear()
    return {"page_p50_s": round(pages[len(pages) // 2], 3) if pages else None,
            "sessions": len(done), "p50_s": round(times[len(times) // 2], 3),
            "p99_s": round(times[min(len(times) - 1, int(0.99 * len(times)))], 3),
            "all_s": round(total, 3), "lost": sum(1 for _, ok in done if not ok)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ab.add_arguments(parser, "bench/results/store-cost")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--only", default="cost,rebuild")
    parser.add_argument("--rebuild-sessions", type=int, default=None,
                        help="sessions of the killed instance (default: --sessions / 3, one "
                             "instance of three)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        if "cost" in args.only:
            ab.compare({"memory": _env(None, prefix), "store": _env(args.redis, prefix)}, args)
        if "rebuild" in args.only:
            rebuilt = []
            for _ in range(args.runs):
                lost = args.rebuild_sessions or max(1, args.sessions // 3)
                rebuilt.append(rebuild(args.redis, prefix, lost, args.out))
                print(json.dumps(rebuilt[-1]), flush=True)
            print("rebuild: p99 " + ", ".join(f"{r['p99_s']:.2f} s" for r in rebuilt) +
                  "; all " + ", ".join(f"{r['all_s']:.2f} s" for r in rebuilt) +
                  f"; lost {sum(r['lost'] for r in rebuilt)}")
            (args.out / "rebuild.json").write_text(json.dumps(rebuilt, indent=2))
    finally:
        client = redis.Redis.from_url(args.redis)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


if __name__ == "__main__":
    main()
