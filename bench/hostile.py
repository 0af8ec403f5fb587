"""The hostile-load benchmark: attacks on one `numerous run` server, and what they cost.

    python bench/hostile.py                     # every scenario
    python bench/hostile.py --only big_frames,slow_headers

Each scenario starts the app in bench/apps/hostile under `numerous run` on a free 127.0.0.1
port, opens a victim session that clicks twenty times a second, runs one attack from a
separate process (so the attacker's own work does not slow the victim's measurement), and
reports the server's RSS growth (peak over the start), the victim's click latency during the
attack, and what the attacker got. Targets: RSS growth under 64 MB for any single-connection
attack, the victim's click p99 under 50 ms, and nothing for the attacker.

Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/hostile.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench import servers  # noqa: E402
from bench.clients import CONFIG_RE, OursClient  # noqa: E402
from bench.stats import summary  # noqa: E402

APP = "hostile"
MIB = 1024 * 1024
TARGET_RSS_MB = 64
TARGET_P99_MS = 50.0
USERS = json.dumps([{"username": "ann", "password": "ann-password-1"}])

Attack = Callable[[str], Awaitable[dict[str, Any]]]


# --- the attacks (each runs in its own process, against the server's URL) ---------------------


async def page(http: httpx.AsyncClient, url: str) -> tuple[dict[str, Any], str]:
    """Open a session as a browser would: its config, and the client token it belongs to."""
    token = secrets.token_urlsafe(24)
    response = await http.get(url + "/", headers={"Cookie": f"numerous_client={token}"})
    match = CONFIG_RE.search(response.content)
    if match is None:
        raise RuntimeError(f"no page config ({response.status_code})")
    return json.loads(match.group(1)), token


async def socket_of(url: str, config: dict[str, Any], token: str, **options: Any) -> Any:
    ws = await connect("ws" + url.removeprefix("http") + config["ws"], max_size=None,
                       additional_headers={"Cookie": f"numerous_client={token}"}, **options)
    await ws.send(json.dumps({"type": "hello", "protocol": 1, "session": config["session"]}))
    return ws


async def big_frames(url: str) -> dict[str, Any]:
    """25 update frames of 8 MiB whose value is a long JSON array of objects."""
    async with httpx.AsyncClient(timeout=30) as http:
        config, token = await page(http, url)
    button = config["widgets"]["button"]
    value = [{"k": i} for i in range(8 * MIB // 10)]
    sent = 0
    try:
        ws = await socket_of(url, config, token)
        for seq in range(1, 26):
            frame = json.dumps({"type": "update", "id": button, "state": {"label": value},
                                "seq": seq})
            await asyncio.wait_for(ws.send(frame), 20)
            sent += 1
        await ws.close()
    except Exception as exc:  # noqa: BLE001 - being cut off is the expected answer
        return {"frames_sent": sent, "stopped": type(exc).__name__, "got": "cut off"}
    return {"frames_sent": sent, "got": f"{sent} frames of 8 MiB taken in"}


async def echo_flood(url: str) -> dict[str, Any]:
    """150 refused 1 MiB values from a client that never reads the answers."""
    async with httpx.AsyncClient(timeout=30) as http:
        config, token = await page(http, url)
    button = config["widgets"]["button"]
    sent = 0
    try:
        ws = await socket_of(url, config, token, max_queue=1)
        for seq in range(1, 151):
            frame = json.dumps({"type": "update", "id": button,
                                "state": {"clicked": "x" * MIB}, "seq": seq})
            await asyncio.wait_for(ws.send(frame), 10)
            sent += 1
        await asyncio.sleep(5)  # hold the connection without reading
        held = await _answered_bytes(ws)
        await ws.close()
    except Exception as exc:  # noqa: BLE001
        return {"frames_sent": sent, "stopped": type(exc).__name__, "got": "cut off"}
    got = "nothing" if held < MIB else f"held answers for {held / MIB:.0f} MiB of refusals"
    return {"frames_sent": sent, "answered_bytes": held, "got": got}


async def _answered_bytes(ws: Any) -> int:
    """What the server answered (and held for the client that did not read), read now."""
    total = 0
    while True:
        try:
            frame = await asyncio.wait_for(ws.recv(), 2)
        except Exception:  # noqa: BLE001 - quiet (a timeout) or closed: all is read
            return total
        total += len(frame)


NEW_PER_MINUTE = 120


async def session_flood(url: str) -> dict[str, Any]:
    """1 500 page loads from one address, each a new browser."""
    answers: dict[str, int] = {}
    started = time.monotonic()
    limits = httpx.Limits(max_connections=32)
    timeout = httpx.Timeout(30, pool=None)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        async def one() -> None:
            try:
                response = await http.get(url + "/", headers={"Cookie": ""})
                kind = "session" if CONFIG_RE.search(response.content) else \
                    str(response.status_code)
            except httpx.HTTPError as exc:
                kind = type(exc).__name__
            answers[kind] = answers.get(kind, 0) + 1
        await asyncio.gather(*(one() for _ in range(1500)))
    opened = answers.pop("session", 0)
    # What any one address may open (SessionLimits.max_new_sessions_per_minute, 120 by
    # default): a minute's worth at once, then two a second.
    allowance = NEW_PER_MINUTE + int((time.monotonic() - started) * NEW_PER_MINUTE / 60) + 1
    got = (f"{opened} sessions, within one address's allowance ({allowance})"
           if opened <= allowance else f"{opened} sessions, over the allowance ({allowance})")
    return {"sessions_opened": opened, "refused": answers, "got": got}


async def chunked_body(url: str) -> dict[str, Any]:
    """A 40 MiB chunked JSON body to an agent API route (no Content-Length)."""
    async def body() -> Any:
        yield b'{"arguments": ['
        for _ in range(40 * 1024):
            yield b'{"a": 1},' * 113 + b'1,'
        yield b"1]}"

    async with httpx.AsyncClient(timeout=60) as http:
        try:
            response = await http.post(url + "/api/agent/sessions/none/actions/x",
                                       content=body(),
                                       headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            return {"got": f"cut off ({type(exc).__name__})"}
    return {"status": response.status_code, "got": f"answered {response.status_code}"}


async def slow_headers(url: str) -> dict[str, Any]:
    """150 connections that send their request headers a byte a second."""
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    started = time.monotonic()

    async def one() -> float:
        sock = socket.create_connection((host, int(port)))
        sock.setblocking(False)
        try:
            await loop.sock_sendall(sock, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            for _ in range(60):
                await asyncio.sleep(1)
                await loop.sock_sendall(sock, b"X")
        except OSError:
            pass
        finally:
            sock.close()
        return time.monotonic() - started

    held = await asyncio.gather(*(one() for _ in range(150)))
    longest = max(held)
    return {"longest_held_s": round(longest, 1),
            "got": f"connections held {longest:.0f} s" if longest > 15 else "dropped in time"}


async def host_rebinding(url: str) -> dict[str, Any]:
    """A page and an agent API call with Host and Origin both an attacker's name."""
    headers = {"Host": "attacker.example", "Origin": "http://attacker.example"}
    async with httpx.AsyncClient(timeout=30) as http:
        page_status = (await http.get(url + "/", headers=headers)).status_code
        api_status = (await http.post(url + "/api/agent/sessions", json={},
                                      headers=headers)).status_code
    accepted = [name for name, status in (("page", page_status), ("agent", api_status))
                if status < 400]
    return {"page": page_status, "agent": api_status,
            "got": f"accepted: {', '.join(accepted)}" if accepted else "nothing"}


async def shared_html(url: str) -> dict[str, Any]:
    """On a shared-widgets app, write HTML into a trait a widget renders as HTML."""
    async with httpx.AsyncClient(timeout=30) as http:
        config, token = await page(http, url)
        witness, witness_token = await page(http, url)
    ws = await socket_of(url, config, token)
    seen = await socket_of(url, witness, witness_token)
    evil = '<meta http-equiv="refresh" content="0;url=https://attacker.example">'
    await ws.send(json.dumps({"type": "update", "id": config["widgets"]["button"],
                              "state": {"icon_svg": evil}, "seq": 1}))
    deadline = time.monotonic() + 3
    planted = False
    while time.monotonic() < deadline and not planted:
        try:
            frame = await asyncio.wait_for(seen.recv(), deadline - time.monotonic())
        except TimeoutError:
            break
        planted = isinstance(frame, str) and "attacker.example" in frame
    await ws.close()
    await seen.close()
    return {"got": "HTML in every visitor's page" if planted else "nothing"}


async def lockout(url: str) -> dict[str, Any]:
    """Five wrong passwords for a user from five addresses, then the right one from a sixth."""
    login = url + "/api/auth/login"
    async with httpx.AsyncClient(timeout=30) as http:
        for n in range(5):
            await http.post(login, json={"username": "ann", "password": "wrong-guess"},
                            headers={"X-Forwarded-For": f"10.0.0.{n + 1}",
                                     "Origin": url})
        owner = await http.post(login, json={"username": "ann", "password": "ann-password-1"},
                                headers={"X-Forwarded-For": "10.0.1.1", "Origin": url})
    return {"owner_status": owner.status_code,
            "got": "the owner locked out" if owner.status_code == 429 else "nothing"}


async def signout(url: str) -> dict[str, Any]:
    """Sign in, keep the access cookie, sign out, then use the kept cookie."""
    async with httpx.AsyncClient(timeout=30) as http:
        signed = await http.post(url + "/api/auth/login", headers={"Origin": url},
                                 json={"username": "ann", "password": "ann-password-1"})
        kept = signed.cookies.get("access_token") or http.cookies.get("access_token")
        await http.post(url + "/api/auth/logout", headers={"Origin": url}, json={})
        http.cookies.clear()
        after = await http.get(url + "/api/auth/me", headers={"Cookie": f"access_token={kept}"})
    return {"me_after_logout": after.status_code,
            "got": "a signed-out token still works" if after.status_code == 200 else "nothing"}


SCENARIOS: dict[str, tuple[Attack, dict[str, str]]] = {
    "big_frames": (big_frames, {}),
    "echo_flood": (echo_flood, {}),
    "session_flood": (session_flood, {}),
    "chunked_body": (chunked_body, {}),
    "slow_headers": (slow_headers, {}),
    "host_rebinding": (host_rebinding, {}),
    "shared_html": (shared_html, {"NUMEROUS_BENCH_SHARED": "1"}),
    "lockout": (lockout, {"NUMEROUS_BENCH_AUTH": "1"}),
    "signout": (signout, {"NUMEROUS_BENCH_AUTH": "1"}),
}


def _attack(name: str, url: str, results: Any) -> None:
    try:
        results.put(asyncio.run(asyncio.wait_for(SCENARIOS[name][0](url), 120)))
    except Exception as exc:  # noqa: BLE001 - reported as the scenario's outcome
        results.put({"got": f"attack failed: {type(exc).__name__}: {exc}"[:200]})


# --- the measurement ---------------------------------------------------------------------------


async def victim_clicks(url: str, attacker: multiprocessing.Process, server: servers.Server,
                        auth: bool) -> dict[str, Any]:
    """Click twenty times a second while the attack runs; sample the server's RSS."""
    peak = server.rss_kib()
    latencies: list[float] = []
    errors = 0
    client = None
    if not auth:
        async with httpx.AsyncClient(timeout=30) as http:
            client = OursClient(url, http)
            await client.open()
    deadline = time.monotonic() + 150
    while attacker.is_alive() and time.monotonic() < deadline:
        peak = max(peak, server.rss_kib())
        if client is not None:
            try:
                latencies.append(await client.click(timeout=5.0) * 1000)
            except Exception:  # noqa: BLE001 - a lost click is counted
                errors += 1
        await asyncio.sleep(0.05)
    if client is not None:
        await client.close()
    return {"peak_kib": peak, "clicks": summary(latencies), "click_errors": errors}


def run_scenario(name: str, out: Path) -> dict[str, Any]:
    attack, env = SCENARIOS[name]
    command = [str(Path(sys.executable).with_name("numerous")), "run", "app.py",
               "--port", "{port}"]
    server = servers.Server(servers.ours(), APP, out / f"{name}.log", command=command,
                            env={"NUMEROUS_JWT_SECRET": secrets.token_urlsafe(32),
                                 "NUMEROUS_AUTH_USERS": USERS, **env})
    with server:
        time.sleep(0.5)
        start_kib = server.rss_kib()
        results: Any = multiprocessing.get_context("spawn").Queue()
        attacker = multiprocessing.get_context("spawn").Process(
            target=_attack, args=(name, server.url, results))
        attacker.start()
        auth = env.get("NUMEROUS_BENCH_AUTH") == "1"
        measured = asyncio.run(victim_clicks(server.url, attacker, server, auth))
        attacker.join(10)
        outcome = results.get(timeout=10) if not results.empty() else {"got": "no answer"}
        end_kib = server.rss_kib()
    clicks = measured["clicks"]
    return {
        "scenario": name, "attack": attack.__doc__.strip().splitlines()[0],
        "rss_growth_mb": round((measured["peak_kib"] - start_kib) / 1024, 1),
        "rss_after_mb": round((end_kib - start_kib) / 1024, 1),
        "victim_p50_ms": clicks["p50"], "victim_p99_ms": clicks["p99"],
        "victim_errors": measured["click_errors"], **outcome,
    }


def verdict(row: dict[str, Any]) -> str:
    rss_ok = row["rss_growth_mb"] < TARGET_RSS_MB
    p99 = row["victim_p99_ms"]
    p99_ok = p99 is None or p99 < TARGET_P99_MS
    got = str(row["got"])
    got_ok = got in ("nothing", "cut off", "dropped in time") or \
        got.startswith(("cut off", "answered 4")) or "within one address" in got
    return "✓" if rss_ok and p99_ok and got_ok and not row["victim_errors"] else "✗"


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| attack | RSS growth (peak) | RSS after | victim click p50 / p99 | "
             "attacker got | met |", "| --- | ---: | ---: | ---: | --- | :---: |"]
    for row in rows:
        p50, p99 = row["victim_p50_ms"], row["victim_p99_ms"]
        clicks = "n/a (sign-in app)" if p99 is None else f"{p50} / {p99} ms"
        lines.append(f"| {row['attack']} | {row['rss_growth_mb']} MB | {row['rss_after_mb']} MB "
                     f"| {clicks} | {row['got']} | {verdict(row)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(SCENARIOS)
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    out = Path(__file__).resolve().parent / "results" / "hostile" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        print(f"==> {name}", flush=True)
        rows.append(run_scenario(name, out))
        print(json.dumps(rows[-1]), flush=True)
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    (out / "summary.md").write_text(table(rows) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
