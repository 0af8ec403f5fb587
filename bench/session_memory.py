"""Where the memory of an idle session goes, in-process: tracemalloc snapshots diffed around
opening N sessions of the counter app (its `run_app`, on this framework's session manager and
pool, without a connection), grouped by the file that allocated it.

    python bench/session_memory.py            # 1 000 sessions
    python bench/session_memory.py -n 200 --group lineno

The RSS figure of `bench/run.py --only memory` adds what a connection holds (uvicorn's
protocol object and buffers, the socket's coroutines, the kernel's socket buffers are not in
RSS); the difference between the two is the connection's share.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import runpy
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


async def measure(count: int, group: str, top: int) -> dict[str, Any]:
    from numerous.apps._sessions import SessionLimits, SessionManager

    sys.path.insert(0, str(BENCH / "apps"))
    app = runpy.run_path(str(BENCH / "apps" / "counter" / "app.py"))
    run_app = app["run_app"]
    manager = SessionManager(SessionLimits(max_sessions=None, max_new_sessions_per_minute=None))

    async def open_many(n: int) -> list[Any]:
        sessions = []
        for _ in range(n):
            session, built = manager.create(run_app, owner="bench", base="")
            await built
            sessions.append(session)
        return sessions

    for session in await open_many(5):  # imports, caches, the widget code's first hash
        manager.close(session)
    await asyncio.sleep(0.2)
    gc.collect()
    threads_before = threading.active_count()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    sessions = await open_many(count)
    await asyncio.sleep(0.2)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = after.compare_to(before, group)
    total = sum(s.size_diff for s in stats)
    rows = [{"where": str(s.traceback[0]).replace(str(Path(sys.prefix)), "<venv>"),
             "bytes_per_session": round(s.size_diff / count), "blocks_per_session":
             round(s.count_diff / count, 1)} for s in stats[:top]]
    objects = _objects_per_session(count)
    for session in sessions:
        manager.close(session)
    return {"sessions": count, "bytes_per_session": round(total / count),
            "threads_added": threading.active_count() - threads_before,
            "top": rows, "gc_tracked_objects_per_session": objects}


def _objects_per_session(count: int) -> dict[str, float]:
    kinds: dict[str, int] = {}
    for obj in gc.get_objects():
        name = type(obj).__name__
        kinds[name] = kinds.get(name, 0) + 1
    largest = sorted(kinds.items(), key=lambda kv: -kv[1])[:12]
    return {name: round(n / count, 1) for name, n in largest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=1000, help="sessions to open")
    parser.add_argument("--group", default="filename", choices=["filename", "lineno"])
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    result = asyncio.run(measure(args.n, args.group, args.top))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
