"""Files over HTTP: upload throughput on loopback, and the server's RSS while 1 GB goes up
and 1 GB comes down.

    python bench/files.py                 # 1 GB each way
    python bench/files.py --gib 0.25      # a quicker run

The app (bench/apps/files) runs under uvicorn on a free 127.0.0.1 port. A client opens a
session as a browser does (page, WebSocket), has curl post a file of `--gib` GiB to the
upload widget's URL (the callback reads it through and reports a CRC-32,
checked here), then clicks a button whose callback calls `download()` with an iterator of
the same size, and reads that download. The server's RSS is sampled every 50 ms; the figures
are the growth of its peak over its RSS before the transfer. Targets: under 50 MB growth
each way, at least 200 MB/s up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
import zlib
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/files.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench import servers  # noqa: E402
from bench.clients import CONFIG_RE, _our_message  # noqa: E402

MIB = 1024 * 1024
TARGET_RSS_MB = 50
TARGET_UPLOAD_MBPS = 200
CHUNK = bytes(range(256)) * 4096  # 1 MiB


class Page:
    """One session of the bench app, opened as a browser opens it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.token = secrets.token_urlsafe(24)
        self.cookie = {"Cookie": f"numerous_client={self.token}"}
        self.states: dict[str, dict[str, Any]] = {}
        self.ws: Any = None

    async def open(self, http: httpx.AsyncClient) -> None:
        page = await http.get(self.url + "/", headers=self.cookie)
        match = CONFIG_RE.search(page.content)
        if match is None:
            raise RuntimeError(f"no page config ({page.status_code})")
        self.config = json.loads(match.group(1))
        ws_url = "ws" + self.url.removeprefix("http") + self.config["ws"]
        self.ws = await connect(ws_url, additional_headers=self.cookie, max_size=None)
        await self.ws.send(json.dumps({"type": "hello", "protocol": 1,
                                       "session": self.config["session"]}))
        await self.until(lambda m: m.get("type") == "ready")

    async def until(self, predicate: Any, timeout: float = 600) -> dict[str, Any]:
        while True:
            message = _our_message(await asyncio.wait_for(self.ws.recv(), timeout))
            if message.get("type") in ("open", "update"):
                self.states.setdefault(message["id"], {}).update(message.get("state", {}))
            if predicate(message):
                return message

    def widget(self, key: str) -> str:
        return str(self.config["widgets"][key])


async def sample_rss(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], servers.proc_rss_kib(pid))
        await asyncio.sleep(0.05)


def body_file(folder: Path, total: int) -> tuple[Path, str]:
    """`total` bytes of a repeating pattern on disk, and their CRC-32."""
    path, crc = folder / "upload.bin", 0
    with path.open("wb") as out:
        for start in range(0, total, len(CHUNK)):
            piece = CHUNK[: min(len(CHUNK), total - start)]
            crc = zlib.crc32(piece, crc)
            out.write(piece)
    return path, f"{crc:08x}"


async def upload(page: Page, folder: Path, total: int) -> dict[str, Any]:
    """Posted by curl, as a browser posts a file: native code on the client side, so the
    figure is the server's."""
    path, crc = body_file(folder, total)
    url = page.url + page.states[page.widget("upload")]["_url"] + "?name=big.bin"
    start = time.perf_counter()
    curl = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--fail", "-o", "/dev/null", "-H", f"Cookie: {page.cookie['Cookie']}",
        "-H", "Content-Type: application/octet-stream",
        "-X", "POST", "-T", str(path), url)  # -T streams the file; --data-binary reads it all
    if await curl.wait() != 0:
        raise RuntimeError("the upload failed")
    seconds = time.perf_counter() - start
    path.unlink()
    button = page.widget("button")
    reported = await page.until(lambda m: m.get("id") == button and "digest" in m.get("state", {}))
    return {"upload_seconds": round(seconds, 2),
            "upload_mb_per_s": round(total / MIB / seconds, 1),
            "upload_checksum_ok": reported["state"]["digest"] == crc}


async def download(page: Page, http: httpx.AsyncClient, total: int) -> dict[str, Any]:
    """Read by httpx in raw chunks; the server's RSS is what counts here."""
    await page.ws.send(json.dumps({"type": "custom", "id": page.widget("button"),
                                   "content": {"click": True}, "seq": 1}))
    told = await page.until(lambda m: m.get("type") == "download")
    received = 0
    start = time.perf_counter()
    async with http.stream("GET", page.url + told["url"],
                           headers=page.cookie, timeout=600) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            received += len(chunk)
    seconds = time.perf_counter() - start
    return {"download_bytes_ok": received == total,
            "download_mb_per_s": round(total / MIB / seconds, 1)}


async def measure(server: servers.Server, total: int, folder: Path) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        page = Page(server.url)
        await page.open(http)
        results: dict[str, Any] = {"bytes": total}
        steps = {"upload": lambda: upload(page, folder, total),
                 "download": lambda: download(page, http, total)}
        for name, step in steps.items():
            await asyncio.sleep(0.5)
            start_kib = servers.proc_rss_kib(server.pid)
            peak, stop = [start_kib], asyncio.Event()
            sampler = asyncio.create_task(sample_rss(server.pid, peak, stop))
            results.update(await step())
            stop.set()
            await sampler
            results[f"{name}_rss_growth_mb"] = round((peak[0] - start_kib) / 1024, 1)
        await page.ws.close()
        return results


def table(row: dict[str, Any]) -> str:
    up_ok = row["upload_rss_growth_mb"] < TARGET_RSS_MB and row["upload_checksum_ok"] and \
        row["upload_mb_per_s"] >= TARGET_UPLOAD_MBPS
    down_ok = row["download_rss_growth_mb"] < TARGET_RSS_MB and row["download_bytes_ok"]
    size = f"{row['bytes'] / 1024**3:g} GiB"
    mark = {True: "✓", False: "✗"}
    upload_row = (f"| upload {size} | {row['upload_mb_per_s']} MB/s | "
                  f"{row['upload_rss_growth_mb']} MB | {mark[row['upload_checksum_ok']]} "
                  f"| {mark[up_ok]} |")
    download_row = (f"| download {size} | {row['download_mb_per_s']} MB/s | "
                    f"{row['download_rss_growth_mb']} MB | {mark[row['download_bytes_ok']]} "
                    f"| {mark[down_ok]} |")
    return "\n".join(["| transfer | throughput | server RSS growth (peak) | intact | met |",
                      "| --- | ---: | ---: | :---: | :---: |", upload_row, download_row])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=1.0, help="GiB each way (default 1)")
    args = parser.parse_args()
    total = int(args.gib * 1024**3)
    out = Path(__file__).resolve().parent / "results" / "files" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    server = servers.Server(servers.ours(), "files", out / "server.log",
                            env={"BENCH_DOWNLOAD_BYTES": str(total)})
    with server:
        row = asyncio.run(measure(server, total, out))
    (out / "results.json").write_text(json.dumps(row, indent=2))
    (out / "summary.md").write_text(table(row) + "\n")
    print(table(row))


if __name__ == "__main__":
    main()
