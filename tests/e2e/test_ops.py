"""Operating an app, against real servers: the admin page in Chromium, the metrics of several
worker processes, and logs of a whole sign-in and session without a secret in them."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import websockets
from playwright.sync_api import Browser, expect
from prometheus_client.parser import text_string_to_metric_families

from numerous.apps.testing import AppPage
from numerous.apps.testing._server import Server, free_port, spawn, wait_until_serving

from ._support import sign_in

HERE = Path(__file__).parent
APP = HERE / "ops"
PASSWORDS = {"root": "root-" + secrets.token_hex(8), "ann": "ann-" + secrets.token_hex(8),
             "bob": "bob-" + secrets.token_hex(8)}
USERS = [{"username": "root", "password": PASSWORDS["root"], "is_admin": True},
         {"username": "ann", "password": PASSWORDS["ann"]},
         {"username": "bob", "password": PASSWORDS["bob"]}]


def environment(**extra: str) -> dict[str, str]:
    return {"NUMEROUS_AUTH_USERS": json.dumps(USERS), "NUMEROUS_JWT_SECRET": secrets.token_hex(32),
            "NUMEROUS_METRICS_TOKEN": "metrics-" + secrets.token_hex(16), **extra}


def test_an_admin_ends_another_browsers_session(serve: Any, browser: Browser) -> None:
    server = serve(APP, env=environment())
    contexts = [browser.new_context() for _ in range(4)]
    try:
        ann, bob, root, other = (AppPage(c.new_page()) for c in contexts)
        for app, name in ((ann, "ann"), (bob, "bob")):
            app.open(server, wait=False)
            sign_in(app, name, PASSWORDS[name])
            app.wait_ready()
        root.open(server, "/numerous/admin/", wait=False)
        sign_in(root, "root", PASSWORDS["root"])
        rows = root.page.locator("tr[data-session]")
        expect(rows).to_have_count(2)
        expect(rows.filter(has_text="ann")).to_have_count(1)
        root.page.locator(".numerous-admin-notice input").fill("Maintenance at six")
        root.page.get_by_role("button", name="Send to every page").click()
        for app in (ann, bob):
            expect(app.page.locator("#numerous-notice")).to_contain_text("Maintenance at six")
        rows.filter(has_text="ann").get_by_role("button", name="End").click()
        expect(ann.session_lost.banner).to_be_visible()
        expect(rows).to_have_count(1)
        expect(bob.session_lost.banner).to_be_hidden()
        # A signed-in user without the admin role is refused.
        other.open(server, "/", wait=False)
        sign_in(other, "bob", PASSWORDS["bob"])
        other.wait_ready()
        response = other.page.goto(server.url + "/numerous/admin/")
        assert response is not None and response.status == 403
    finally:
        for context in contexts:
            context.close()


def test_anonymous_visitors_of_the_admin_page_go_to_the_login(serve: Any) -> None:
    server = serve(APP, env=environment())
    response = httpx.get(server.url + "/numerous/admin/", headers={"accept": "text/html"})
    assert response.status_code in (302, 303, 307)
    assert "/login?next=" in response.headers["location"]


# --- several worker processes -------------------------------------------------------------------


def test_two_worker_processes_report_together(tmp_path: Path) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = environment(PROMETHEUS_MULTIPROC_DIR=str(folder))
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(APP),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    server = Server(spawn(command, APP, tmp_path / "server.log", env),
                    f"http://127.0.0.1:{port}", tmp_path / "server.log")
    try:
        wait_until_serving(server, 30)
        loads, pids = 0, set()
        while len(pids) < 2 and loads < 40:
            # Fresh connections, until the kernel has given both processes some (it spreads
            # them, though not evenly: six in a row once went to one process).
            with httpx.Client(base_url=server.url) as client:
                signed = client.post("/api/auth/login",
                                     json={"username": "ann", "password": PASSWORDS["ann"]})
                assert signed.status_code == 200
                assert client.get("/", headers={"accept": "text/html"}).status_code == 200
            loads += 1
            pids = {re.sub(r"\D", "", p.name) for p in folder.glob("gauge_livesum_*.db")}
        assert len(pids) == 2, (pids, server.output())
        for _ in range(3):  # whichever process answers, the sums are the same
            samples = scrape(server.url, env["NUMEROUS_METRICS_TOKEN"])
            assert samples[("numerous_sessions_live", (("app", "/"),))] == loads
            assert samples[("numerous_sessions_opened_total", (("app", "/"),))] == loads
            assert samples[("numerous_login_attempts_total", ())] == loads
    finally:
        server.stop()


def scrape(url: str, token: str) -> dict[tuple[str, tuple[Any, ...]], float]:
    with httpx.Client() as client:
        response = client.get(url + "/numerous/metrics",
                              headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


# --- logs without secrets -----------------------------------------------------------------------


def test_json_logs_of_a_whole_run_hold_no_secret(tmp_path: Path) -> None:
    numerous = shutil.which("numerous") or str(Path(sys.executable).parent / "numerous")
    env = environment()
    port = free_port()
    log = tmp_path / "server.log"
    command = [numerous, "run", "app.py", "--port", str(port), "--log-format", "json"]
    server = Server(spawn(command, APP, log, env), f"http://127.0.0.1:{port}", log)
    try:
        wait_until_serving(server, 30)
        # A thread of its own: Playwright's sync API may hold this thread's event loop.
        with ThreadPoolExecutor(1) as pool:
            tokens = pool.submit(lambda: asyncio.run(
                a_whole_run(server.url, env["NUMEROUS_METRICS_TOKEN"]))).result()
    finally:
        server.stop()
    text = log.read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) > 5, text
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry), entry
    assert any(json.loads(line).get("request_id") for line in lines)
    assert any(json.loads(line).get("session") for line in lines), text
    secrets_used = [PASSWORDS["ann"], env["NUMEROUS_JWT_SECRET"],
                    env["NUMEROUS_METRICS_TOKEN"], *tokens]
    for secret in secrets_used:
        assert secret not in text, f"a secret is in the logs:\n{text}"


async def a_whole_run(url: str, metrics_token: str) -> list[str]:
    """Sign in, open the page and its WebSocket, click, scrape, refresh, sign out; also send
    the secrets where careless code would log them (query strings, headers). Returns the
    tokens the server handed out."""
    async with httpx.AsyncClient(base_url=url) as client:
        password = PASSWORDS["ann"]
        await client.get(f"/login?password={password}")
        assert (await client.post("/api/auth/login", json={
            "username": "ann", "password": "not-" + password})).status_code == 401
        signed = await client.post("/api/auth/login",
                                   json={"username": "ann", "password": password})
        assert signed.status_code == 200, signed.text
        tokens = [value for value in signed.json().values()
                  if isinstance(value, str) and len(value) > 20]
        tokens += [c for c in client.cookies.values() if len(c) > 20]
        page = await client.get("/", headers={"accept": "text/html"})
        session = re.search(r'"session": ?"([^"]+)"', page.text)
        assert session is not None, page.text
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        async with websockets.connect(url.replace("http", "ws") + "/numerous/ws",
                                      additional_headers={"cookie": cookie,
                                                          "origin": url}) as ws:
            await ws.send(json.dumps({"type": "hello", "protocol": 1,
                                      "session": session.group(1)}))
            ready = None
            while ready is None:
                message = json.loads(await ws.recv())
                if message["type"] == "ready":
                    ready = message
            button = ready["widgets"]["button"]
            await ws.send(json.dumps({"type": "update", "id": button, "seq": 1,
                                      "state": {"clicked": 1}}))
            await ws.send(json.dumps({"type": "sync", "token": 1}))
            while json.loads(await ws.recv())["type"] != "synced":
                pass
        await client.get(f"/?access_token={tokens[0]}", headers={"accept": "text/html"})
        await client.get("/numerous/metrics", headers={"authorization": f"Bearer {metrics_token}"})
        await client.post("/api/auth/refresh")
        await client.post("/api/auth/logout")
        return tokens
