"""Where an idle session's resident memory goes, by kind of mapping: the counter app's server
with N idle sessions connected (protocol clients), `/proc/<pid>/smaps` growth per session
over a baseline taken after 5 warm-up sessions came and went.

    python bench/smaps.py                 # 300 sessions, uvicorn's defaults (deflate on)
    python bench/smaps.py -n 300 --no-deflate

Groups: `[heap]` (glibc malloc's main heap: zlib's state, C buffers), the 8 MiB mappings
(thread stacks), the 64 MiB ones (glibc's per-thread arenas) and other anonymous mappings
(pymalloc's arenas of Python objects, large blocks).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/smaps.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen, servers  # noqa: E402

_RANGE = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def groups(pid: int) -> dict[str, int]:
    """Resident KiB of a process by kind of mapping."""
    out: dict[str, int] = {}
    name, size = "", 0
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split()
        if _RANGE.match(line):
            name = parts[5] if len(parts) > 5 else ""
        elif parts[0] == "Size:":
            size = int(parts[1])
        elif parts[0] == "Rss:":
            key = _kind(name, size)
            out[key] = out.get(key, 0) + int(parts[1])
    return out


def _kind(name: str, size: int) -> str:
    if name == "[heap]":
        return "[heap] (malloc)"
    if name.startswith("/"):
        return "files"
    if name.startswith("["):
        return name
    if size in (8192, 8188):
        return "thread stacks (8 MiB maps)"
    if 60000 <= size <= 65536:
        return "glibc thread arenas (64 MiB maps)"
    return "other anonymous (pymalloc arenas, large blocks)"


async def measure(server: servers.Server, count: int) -> dict[str, Any]:
    async with loadgen.http_client() as http:
        warm, _ = await loadgen.open_clients("ours", server.url, 5, http)
        await loadgen.close_all(warm)
        await asyncio.sleep(8)
        base = groups(server.pid)
        clients, _ = await loadgen.open_clients("ours", server.url, count, http)
        await asyncio.sleep(3)
        after = groups(server.pid)
        opened = max(1, len(clients))
        await loadgen.close_all(clients)
    per = {k: round((after.get(k, 0) - base.get(k, 0)) / opened, 1)
           for k in sorted(set(base) | set(after))}
    return {"sessions": len(clients), "kib_per_session": {k: v for k, v in per.items() if v},
            "total_kib_per_session": round(sum(per.values()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300, help="idle sessions to open")
    parser.add_argument("--no-deflate", action="store_true",
                        help="serve without per-message deflate, as `numerous run` does")
    args = parser.parse_args()
    extra = ("--ws-per-message-deflate", "false") if args.no_deflate else ()
    log = servers.BENCH / "results" / "smaps-server.log"
    with servers.Server(servers.ours(), "counter", log, env={"NUMEROUS_BENCH_GRACE": "30"},
                        uvicorn_args=extra) as server:
        print(json.dumps(asyncio.run(measure(server, args.n)), indent=1))


if __name__ == "__main__":
    main()
