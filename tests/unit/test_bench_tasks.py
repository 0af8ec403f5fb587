"""bench/tasks.py runs at tiny sizes and its figures have their shape (no timing asserted)."""

from __future__ import annotations

from bench import tasks


def test_the_tasks_benchmark_runs_and_coalesces_progress(capsys: object) -> None:
    results = tasks.main(["--quick"])
    flood = results["progress_flood"]
    assert flood["reports"] > 100
    assert 0 < flood["updates_received"] < flood["reports"] / 4  # coalesced, not one per report
    assert flood["outbox_peak"] <= 5
    for figure in (results["start"]["start_task_ms"], results["start"]["call_to_running_ms"],
                   results["cache_hit_memory_ms"], results["cache_hit_redis_ms"]):
        assert figure["n"] > 0 and figure["p50"] is not None
