"""Smoke test of the peers' plumbing in bench/, without installing any peer (CI has no peer
venvs): every peer's apps exist and compile, and a stand-in peer (this framework's counter,
started through the peer code path and read through its own PageSpec, as a peer's page is)
goes through the browser figures and the peers' table, and so does its dashboard through the
chart figure. No timing is asserted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import browser, chart, peers, report, run, servers  # noqa: E402

STAND_IN = peers.Peer(
    "stand-in", "stand-in 1.0", "3.11", ("stand-in==1.0",),
    (sys.executable, "-m", "uvicorn", "app:app", "--app-dir", ".", "--host", "127.0.0.1",
     "--port", "{port}", "--log-level", "warning"),
    peers.PageSpec(ready="!!q('#counter input') && !!q('#button button')",
                   button="#button button",
                   value="(q('#counter input') ? q('#counter input').getAttribute('value') : null)",
                   poll=True,
                   dashboard_ready="!!q('#chart canvas') && !!q('#table tbody tr')",
                   chart="#chart", wave="#wave .custom-select",
                   wave_option="#wave .option:has-text('{wave}')"),
    env={"BENCH_PORT": "{port}"})


@pytest.mark.parametrize("name", sorted(peers.PEERS))
def test_every_peer_has_its_apps_and_a_pinned_version(name: str) -> None:
    peer = peers.PEERS[name]
    for app in peers.PEER_APP_NAMES:
        path = peers.PEER_APPS / name / f"{app}.py"
        compile(path.read_text(), str(path), "exec")
    command = " ".join(peer.argv("counter", 4321))
    assert "4321" in command + "".join(v.format(port=4321) for v in peer.env.values())
    assert peer.argv("counter", 1)[0].startswith(str(peer.venv))
    assert any("==" in package for package in peer.packages)
    assert peer.url_path("counter").startswith("/")


def test_sizes_are_overridden_by_name() -> None:
    sizes = run._sizes(run.QUICK, "load_runs=3,idle_pages=4+8,settle=0.5")
    assert (sizes.load_runs, sizes.idle_pages, sizes.settle) == (3, (4, 8), 0.5)
    assert sizes.browser_clicks == run.QUICK.browser_clicks


def test_a_stand_in_peer_goes_through_the_browser_figures(tmp_path: Path) -> None:
    framework = servers.Framework("stand-in", sys.executable, STAND_IN)
    assert framework.has_app("counter") is False and run.template_keys("counter", framework) == []
    spec = framework.page
    with browser.chromium() as chromium, servers.Server(
            framework, "counter", tmp_path / "server.log", app_dir=servers.APPS / "counter",
            # A grace long enough for a loaded machine: a page whose WebSocket comes later than
            # the grace after its GET finds its session gone.
            env={"NUMEROUS_BENCH_GRACE": "5"}) as server:
        loads = browser.page_loads(chromium, server.page_url, [], 1, settle_ms=100, spec=spec)
        clicks = browser.click_latency(chromium, server.page_url, [], 3, spec=spec)
        idle = browser.idle_sessions(chromium, server.page_url, [], [1, 2],
                                     lambda: (server.rss_kib(), server.threads()),
                                     grace=1.0, settle=0.2, spec=spec)
        with servers.Server(framework, "dashboard", tmp_path / "dashboard.log",
                            app_dir=servers.APPS / "dashboard",
                            env={"NUMEROUS_BENCH_GRACE": "5"}) as dashboard:
            updates = chart.chart_latency(chromium, dashboard.page_url, [], 4, spec=spec)
    assert loads["cold"]["tti_ms"]["n"] == 1 and loads["warm"]["bytes"]["n"] == 1
    assert clicks["errors"] == 0 and clicks["ms"]["n"] == 3
    assert [step["sessions"] for step in idle["steps"]] == [1, 2]
    assert {"rss_kib", "threads", "rss_returned_fraction"} <= set(idle["after_close"])
    assert updates["errors"] == 0 and updates["ms"]["n"] == 4
    # Each wave drawn the same way each time: one fingerprint per wave, three waves.
    assert updates["fingerprints_per_wave"] == {"square": 1, "sawtooth": 1, "sine": 1}

    results = {"meta": {"mode": "smoke", "started": "now", "machine": "test",
                        "versions": {"ours": "dev", "stand-in": "stand-in 1.0 Python 3"}},
               "figures": {"load_counter": {"ours": loads, "stand-in": loads},
                           "click_browser": {"ours": clicks, "stand-in": clicks},
                           "idle_pages": {"ours": idle, "stand-in": idle},
                           "chart_browser": {"ours": updates, "stand-in": updates}}}
    text = report.markdown(results)
    assert "| figure | ours | stand-in 1.0 |" in text
    assert "| click → DOM, p50 |" in text and "(×1)" in text
    assert "| chart update → DOM, p99 |" in text
    assert "fastest peer stand-in" in text and "target (ours ≤ fastest peer) met" in text


def test_the_runner_wires_the_load_figures(tmp_path: Path) -> None:
    out = run.main(["--quick", "--only", "round_trip,burst", "--set", "rtt_clicks=3",
                    "--out", str(tmp_path)])
    results = (out / "results.json").read_text()
    figures = json.loads(results)["figures"]
    assert figures["round_trip"]["ours"]["ms"]["n"] == 3
    assert figures["burst_raw"]["ours"]["finished"]
    assert (out / "summary.md").exists()
