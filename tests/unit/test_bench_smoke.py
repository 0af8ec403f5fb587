"""Smoke test of the benchmark suite (bench/), so that it cannot rot: the load generator's
scenarios run against a real server of this framework at tiny sizes, and the report is built
from what they return. No timing is asserted; the figures live in docs/benchmarks.md."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import files, loadgen, report, servers  # noqa: E402

SUMMARY_KEYS = {"n", "p50", "p90", "p99", "min", "max"}


@pytest.fixture
def serve(tmp_path: Path) -> Any:
    started: list[servers.Server] = []

    def _serve(app: str) -> servers.Server:
        server = servers.Server(servers.ours(), app, tmp_path / f"{app}.log",
                                env={"NUMEROUS_BENCH_GRACE": "3", "NUMEROUS_BENCH_BURST": "200"})
        started.append(server)
        return server.wait_serving()

    yield _serve
    for server in started:
        server.stop()


async def test_load_generator_figures_for_ours(serve: Any) -> None:
    counter = serve("counter")
    probe = lambda: (counter.rss_kib(), counter.threads())  # noqa: E731

    rtt = await loadgen.round_trip("ours", counter.url, clicks=3)
    assert rtt["errors"] == 0 and set(rtt["ms"]) == SUMMARY_KEYS and rtt["ms"]["n"] == 3

    load = await loadgen.sustained("ours", counter.url, sessions=5, duration=2, probe=probe)
    assert {"sessions", "sent", "ok", "errors", "error_rate", "ms", "open", "rss_kib",
            "threads", "max_schedule_lag_ms"} <= set(load)
    assert load["sessions"] == 5 and load["errors"] == 0 and load["ok"] == 10

    steps = await loadgen.ramp("ours", counter.url, [2, 4], duration=1)
    assert [step["sessions"] for step in steps] == [2, 4]

    memory = await loadgen.idle_memory("ours", counter.url, probe, [2, 5], grace=3.0,
                                       settle=0.2)
    assert [step["sessions"] for step in memory["steps"]] == [2, 5]
    assert {"rss_kib", "threads", "threads_returned", "rss_returned_fraction",
            "threads_back_after_s"} <= set(memory["after_close"])

    burst = await loadgen.burst("ours", serve("burst").url, times=200, timeout=30)
    assert burst["finished"] and burst["frames"] >= 1

    results = {"meta": {"mode": "smoke", "started": "now", "machine": "test",
                        "versions": {"ours": "dev"}},
               "figures": {"round_trip": {"ours": rtt}, "sustained": {"ours": load},
                           "ramp": {"ours": steps}, "memory": {"ours": memory},
                           "burst_raw": {"ours": burst},
                           "knee": {"ours": {"p99": loadgen.knee(steps)}}}}
    text = report.markdown(results)
    assert "| 4 WS round trip, p50 |" in text and "| figure | ours | reference |" in text


def test_knee_interpolates_between_steps() -> None:
    steps = [{"sessions": 100, "ms": {"p99": 20.0}}, {"sessions": 300, "ms": {"p99": 180.0}}]
    assert loadgen.knee(steps) == 200
    assert loadgen.knee(steps[:1]) is None


async def test_the_files_benchmark_moves_its_bytes_intact(tmp_path: Path) -> None:
    total = 3 * 1024 * 1024 + 5
    server = servers.Server(servers.ours(), "files", tmp_path / "files.log",
                            env={"BENCH_DOWNLOAD_BYTES": str(total)})
    with server:
        row = await files.measure(server, total, tmp_path)
    assert row["upload_checksum_ok"] and row["download_bytes_ok"]
    assert {"upload_mb_per_s", "download_mb_per_s", "upload_rss_growth_mb",
            "download_rss_growth_mb"} <= set(row)
    assert files.table(row).count("\n| upload ") == 1


def test_two_settings_side_by_side_click_in_turn(tmp_path: Path) -> None:
    """bench/ab.py (metrics_cost.py, store_cost.py): both servers' clients click, in windows
    A B B A, and each gets its figures and its ratio to the first."""
    import argparse

    from bench import ab

    args = argparse.Namespace(sessions=4, seconds=1.0, windows=2, runs=1, out=tmp_path,
                              pin=False)
    runs = ab.compare({"off": {"NUMEROUS_BENCH_METRICS": "0"},
                       "on": {"NUMEROUS_BENCH_METRICS": "1"}}, args)
    off, on = runs[0]["off"], runs[0]["on"]
    for figures in (off, on):
        assert figures["errors"] == 0 and figures["clicks"] == 8
        assert len(figures["windows"]) == 2 and all(w["ok"] == 4 for w in figures["windows"])
        assert figures["cpu_ms_per_click"] >= 0  # (clock ticks: 0 for a handful of clicks)
    assert set(on["vs_off"]) == {"p50", "p99", "cpu_ms_per_click"} and "vs_off" not in off
    assert (tmp_path / "results.json").exists()


def test_page_loads_of_two_settings_side_by_side(tmp_path: Path) -> None:
    """bench/page_ab.py: one Chromium loads each server's page in turn, cold then warm, and
    NUMEROUS_BENCH_EARLY=0 serves pages without the early socket's inline script."""
    import httpx

    from bench import page_ab

    with servers.Server(servers.ours(), "counter", tmp_path / "plain.log",
                        env={"NUMEROUS_BENCH_EARLY": "0"}) as plain:
        assert "<script>" not in httpx.get(plain.page_url).text
    found = page_ab.compare({"early": {}, "plain": {"NUMEROUS_BENCH_EARLY": "0"}}, 1, tmp_path)
    for name in ("early", "plain"):
        assert found[name]["tti_cold_ms"]["n"] == 1 and found[name]["tti_warm_ms"]["n"] == 1
    assert set(found["plain"]["vs_early"]) == {"tti_cold_ms", "tti_warm_ms"}
    assert (tmp_path / "results.json").exists()
