"""The load generator: figures 4–7 with raw WebSocket clients, for either framework.

Loopback only (the server's URL is always http://127.0.0.1:<port>), every loop bounded in
count and time; nothing here runs longer than its arguments say plus its timeouts.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from .clients import BaseClient, ClickFailed, client_class
from .stats import summary

Probe = Callable[[], tuple[int, int]]
"""(RSS KiB, threads) of the server process."""

OPEN_CONCURRENCY = 32
OPEN_BUDGET_S = 300.0
"""Opening a batch of sessions stops starting new ones after this long (an overloaded server)."""


def http_client() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=OPEN_CONCURRENCY, max_keepalive_connections=8)
    return httpx.AsyncClient(limits=limits, timeout=60)


async def open_clients(framework: str, url: str, count: int, http: httpx.AsyncClient,
                       timeout: float = 60.0) -> tuple[list[BaseClient], dict[str, Any]]:
    """Open `count` sessions, OPEN_CONCURRENCY at a time; failures are counted, not raised."""
    cls = client_class(framework)
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    times: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + OPEN_BUDGET_S

    async def one() -> BaseClient | None:
        async with gate:
            if time.perf_counter() > deadline:
                errors.append(f"not started: the {OPEN_BUDGET_S:.0f} s budget was spent")
                return None
            client = cls(url, http)
            start = time.perf_counter()
            try:
                await asyncio.wait_for(client.open(), timeout)
            except Exception as exc:  # noqa: BLE001 - a failed session is a figure, not a crash
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                await _quiet_close(client)
                return None
            times.append((time.perf_counter() - start) * 1000)
            return client

    started = time.perf_counter()
    opened = [c for c in await asyncio.gather(*(one() for _ in range(count))) if c is not None]
    info = {"requested": count, "opened": len(opened), "failed": len(errors),
            "errors": sorted(set(errors))[:5], "open_ms": summary(times),
            "wall_s": round(time.perf_counter() - started, 2)}
    return opened, info


async def _quiet_close(client: BaseClient) -> None:
    try:
        await asyncio.wait_for(client.close(), 5)
    except Exception:  # noqa: BLE001
        pass


async def close_all(clients: list[BaseClient]) -> None:
    await asyncio.gather(*(_quiet_close(c) for c in clients))


# --- figure 4: round trip of one update ---------------------------------------------------------

async def round_trip(framework: str, url: str, clicks: int) -> dict[str, Any]:
    """One session clicking `clicks` times, one at a time, with random gaps of 0–100 ms (so that
    a server that polls every 100 ms is sampled at every phase)."""
    async with http_client() as http:
        clients, info = await open_clients(framework, url, 1, http)
        if not clients:
            return {"error": info}
        client = clients[0]
        latencies, errors = [], 0
        for _ in range(clicks):
            await asyncio.sleep(random.uniform(0.0, 0.1))
            try:
                latencies.append(await client.click(timeout=5) * 1000)
            except ClickFailed:
                errors += 1
        await close_all(clients)
    return {"clicks": clicks, "errors": errors, "ms": summary(latencies, 3)}


# --- figure 5: memory and threads of idle sessions ---------------------------------------------

async def idle_memory(framework: str, url: str, probe: Probe, counts: list[int],
                      grace: float, settle: float = 3.0) -> dict[str, Any]:
    """RSS and threads of the server with `counts` idle sessions open, then after all close."""
    async with http_client() as http:
        warm, _ = await open_clients(framework, url, 5, http)  # imports, caches, first sessions
        await close_all(warm)
        await asyncio.sleep(grace + settle)
        base_rss, base_threads = probe()
        result: dict[str, Any] = {"baseline": {"rss_kib": base_rss, "threads": base_threads},
                                  "grace_s": grace, "steps": []}
        clients: list[BaseClient] = []
        for count in counts:
            more, info = await open_clients(framework, url, count - len(clients), http)
            clients += more
            await asyncio.sleep(settle)
            rss, threads = probe()
            result["steps"].append({
                "sessions": len(clients), "rss_kib": rss, "threads": threads, "open": info,
                "kib_per_session": round((rss - base_rss) / max(1, len(clients)), 1),
                "threads_per_session": round((threads - base_threads) / max(1, len(clients)), 3)})
        peak_rss = rss
        await close_all(clients)
        closed_at = time.monotonic()
        deadline = closed_at + grace + 30
        threads_back_s = None
        while time.monotonic() < deadline:
            await asyncio.sleep(1.0)
            rss, threads = probe()
            if threads <= base_threads + 1:
                threads_back_s = round(time.monotonic() - closed_at, 1)
                break
        # Sessions end a grace period after their sockets close, and the server hands memory
        # back 2 s after that: measure after both, whether or not threads came and went.
        since = time.monotonic() - closed_at
        await asyncio.sleep(max(settle, grace + 2.0 + settle - since))
        rss, threads = probe()
        returned = (peak_rss - rss) / (peak_rss - base_rss) if peak_rss > base_rss else None
        result["after_close"] = {
            "waited_s": round(time.monotonic() - closed_at, 1), "rss_kib": rss, "threads": threads,
            "threads_back_after_s": threads_back_s,
            "rss_returned_fraction": None if returned is None else round(returned, 3),
            "threads_returned": threads <= base_threads + 1}
    return result


# --- figure 6: many sessions clicking ----------------------------------------------------------

async def drive(clients: list[BaseClient], duration: float, rate: float = 1.0,
                timeout: float = 10.0, samples: list[float] | None = None) -> dict[str, Any]:
    """Every client clicks `rate` times a second for `duration` seconds, on schedule (a slow
    answer does not delay the next click, so queueing shows in the figures). Each latency (ms)
    is also added to `samples` when given."""
    latencies: list[float] = [] if samples is None else samples
    counts = {"sent": 0, "ok": 0, "timeouts": 0, "closed": 0}
    lag = [0.0]
    start = time.perf_counter() + 0.2
    period = 1.0 / rate

    async def await_one(pending: tuple[float, asyncio.Future[float]]) -> None:
        try:
            latencies.append(await BaseClient.wait_click(pending, timeout) * 1000)
            counts["ok"] += 1
        except ClickFailed as exc:
            counts["closed" if "closed" in str(exc) else "timeouts"] += 1

    async def session(client: BaseClient) -> None:
        offset = random.uniform(0, period)
        waits = []
        for k in range(int(duration * rate)):
            due = start + offset + k * period
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag[0] = max(lag[0], -delay)
            try:
                pending = await client.click_nowait()
            except ClickFailed:
                counts["closed"] += 1
                continue
            counts["sent"] += 1
            waits.append(asyncio.ensure_future(await_one(pending)))
        if waits:
            await asyncio.gather(*waits)

    # The load generator must not pause either, or it measures itself: its objects of the
    # moment are frozen and collection is off while it clicks (memory grows a little).
    gc.collect()
    gc.freeze()
    gc.disable()
    window = [time.time(), 0.0]
    try:
        await asyncio.gather(*(session(c) for c in clients))
    finally:
        gc.enable()
        gc.unfreeze()
    window[1] = time.time()
    elapsed = time.perf_counter() - start
    errors = counts["timeouts"] + counts["closed"]
    return {"sessions": len(clients), "duration_s": duration, **counts, "errors": errors,
            "error_rate": round(errors / max(1, counts["sent"] + counts["closed"]), 4),
            "clicks_per_s": round(counts["ok"] / elapsed, 1),
            "ms": summary(latencies, 2), "max_schedule_lag_ms": round(lag[0] * 1000, 1),
            "window": [round(window[0], 3), round(window[1], 3)]}


async def sustained(framework: str, url: str, sessions: int, duration: float,
                    probe: Probe | None = None) -> dict[str, Any]:
    """`sessions` sessions each clicking once a second for `duration` seconds."""
    async with http_client() as http:
        clients, info = await open_clients(framework, url, sessions, http)
        result = await drive(clients, duration)
        result["open"] = info
        if probe:
            result["rss_kib"], result["threads"] = probe()
        await close_all(clients)
    return result


async def ramp(framework: str, url: str, steps: list[int], duration: float,
               stop_p99_ms: float = 2000.0) -> list[dict[str, Any]]:
    """Add sessions step by step, clicking for `duration` seconds at each; stop early once a
    step is overloaded (p99 over `stop_p99_ms`, >10 % errors, or sessions that did not open)."""
    results = []
    async with http_client() as http:
        clients: list[BaseClient] = []
        for target in steps:
            more, info = await open_clients(framework, url, target - len(clients), http)
            clients = [c for c in clients if not c.closed] + more
            step = await drive(clients, duration)
            step.update(target=target, open=info)
            results.append(step)
            p99 = step["ms"]["p99"]
            if (p99 is None or p99 > stop_p99_ms or step["error_rate"] > 0.1
                    or info["failed"] > 0.1 * max(1, info["requested"])):
                step["stopped_here"] = True
                break
        await close_all(clients)
    return results


def knee(steps: list[dict[str, Any]], key: str = "p99", limit_ms: float = 100.0
         ) -> float | None:
    """Sessions at which latency `key` passes `limit_ms`, interpolated between steps;
    None if it never does within the steps run."""
    previous = None
    for step in steps:
        value = step["ms"].get(key)
        if value is None:
            continue
        if value > limit_ms:
            if previous is None:
                return float(step["sessions"])
            (s0, v0), s1 = previous, step["sessions"]
            return round(s0 + (s1 - s0) * (limit_ms - v0) / (value - v0), 0)
        previous = (step["sessions"], value)
    return None


# --- figure 7: a callback setting a value many times --------------------------------------------

async def burst(framework: str, url: str, times: int, timeout: float = 120.0) -> dict[str, Any]:
    """Click the burst app's button once; its callback sets the counter 1..`times`. Time until
    the last value arrives and frames received meanwhile."""
    async with http_client() as http:
        clients, info = await open_clients(framework, url, 1, http)
        if not clients:
            return {"error": info}
        client = clients[0]
        frames_before, bytes_before = client.frames_in, client.bytes_in
        sent = time.perf_counter()
        await client._send_click(1)  # noqa: SLF001 - the value to wait for is `times`, not 1
        try:
            done = await client.wait_value(times, timeout)
            result = {"ms": round((done - sent) * 1000, 1), "finished": True}
        except TimeoutError:
            result = {"ms": None, "finished": False, "last_value": client.value}
        await asyncio.sleep(0.3)
        result.update(frames=client.frames_in - frames_before,
                      bytes=client.bytes_in - bytes_before, sets=times)
        await close_all(clients)
    return result


def run(coroutine: Any) -> Any:
    """Run a scenario on uvloop when it is installed (less client overhead), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def clicking_cost(server: Any, sessions: int, seconds: float) -> dict[str, Any]:
    """`sessions` protocol clients of our `server` clicking once a second for `seconds`: the
    click latency p50 and p99, errors, clicks, and the server's CPU seconds meanwhile."""
    from bench import servers  # the load generator itself needs no server helpers

    probe: dict[str, float] = {}

    async def scenario() -> dict[str, Any]:
        async with http_client() as http:
            clients, info = await open_clients("ours", server.url, sessions, http)
            probe["cpu"] = servers.cpu_seconds(server.pid)
            result = await drive(clients, seconds)
            probe["cpu"] = servers.cpu_seconds(server.pid) - probe["cpu"]
            result["open"] = info
            await close_all(clients)
            return result

    result = run(scenario())
    return {"p50": result["ms"]["p50"], "p99": result["ms"]["p99"],
            "errors": result.get("errors", 0), "cpu_s": round(probe["cpu"], 2),
            "clicks": result.get("ok")}


def interleaved_cost(servers_by_name: dict[str, Any], sessions: int, seconds: float,
                     windows: int) -> dict[str, Any]:
    """The same load on two (or more) servers, in alternating windows.

    `sessions` protocol clients are opened on every server first; then the clients of one
    server click once a second for `seconds` while the others idle, server by server, in the
    order A B B A A B ... for `windows` windows each, so that a machine that gets busier or
    quieter during the run weighs on every server alike. Per server: the click latency p50 and
    p99 over all its windows, the server's CPU seconds per 1 000 clicks, errors, and each
    window's figures."""
    from bench import servers  # the load generator itself needs no server helpers

    names = list(servers_by_name)
    order = [names[::-1] if k % 2 else names for k in range(windows)]

    async def scenario() -> dict[str, Any]:
        found: dict[str, Any] = {}
        async with http_client() as http:
            clients = {}
            for name in names:
                clients[name], found[name] = await open_clients(
                    "ours", servers_by_name[name].url, sessions, http)
                found[name] = {"open": found[name], "windows": [], "samples": []}
            for name in (n for pair in order for n in pair):
                pid = servers_by_name[name].pid
                cpu = servers.cpu_seconds(pid)
                window = await drive(clients[name], seconds, samples=found[name]["samples"])
                window["cpu_s"] = round(servers.cpu_seconds(pid) - cpu, 2)
                window.pop("window", None)
                found[name]["windows"].append(window)
            for name in names:
                await close_all(clients[name])
        return found

    found = run(scenario())
    result: dict[str, Any] = {}
    for name, runs in found.items():
        clicks = sum(w["ok"] for w in runs["windows"])
        cpu = sum(w["cpu_s"] for w in runs["windows"])
        ms = summary(runs["samples"], 2)
        result[name] = {
            "p50": ms["p50"], "p99": ms["p99"], "clicks": clicks,
            "errors": sum(w["errors"] for w in runs["windows"]),
            "cpu_s": round(cpu, 2), "cpu_ms_per_click": round(cpu * 1000 / max(1, clicks), 4),
            "open": runs["open"],
            "windows": [{"p50": w["ms"]["p50"], "p99": w["ms"]["p99"], "cpu_s": w["cpu_s"],
                         "ok": w["ok"], "errors": w["errors"]} for w in runs["windows"]]}
    return result
