"""Sessions that outlive their instance: `numerous run --store` instances behind HAProxy with the
real Redis (docs/deploy.md, "The session store").

Fifty visitors (raw protocol clients, and Chromium pages) change values on three instances;
one instance is killed, and every visitor it served carries on on another one with its last
values; then a rolling restart of all three loses nothing. A shared widget changed on one
instance shows on another; a signed-in user continues in a new browser with the old one's
values; and a Redis that goes away (one started by the test) breaks no page, and gets every
value back when it returns.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import websockets
from playwright.sync_api import Browser, Page, expect

from numerous.apps._protocol import PROTOCOL_VERSION
from numerous.apps.testing import (AppPage, Server, free_port, spawn, start_redis,
                                   wait_until_serving)

from ._support import HAPROXY_CONFIG, PREFIX, haproxy_path, sign_in

APP = Path(__file__).resolve().parent / "store"
NUMEROUS = str(Path(sys.executable).parent / "numerous")
REDIS = "redis://127.0.0.1:6379/0"
NAMES = ("a", "b", "c")
VISITORS = 50
# Fifty page loads at once on a busy machine keep an instance from answering a check within
# 500 ms: checks that give more time, so that only a stopped instance counts as down.
PROXY_CONFIG = HAPROXY_CONFIG.replace("default-server inter 500ms fall 2 rise 2",
                                      "default-server inter 1s fall 3 rise 1\n"
                                      "    timeout check 5s")
assert PROXY_CONFIG != HAPROXY_CONFIG


@pytest.fixture
def prefix() -> Iterator[str]:
    """Keys of this test's own in the real Redis, deleted afterwards."""
    prefix = f"e2e-{uuid.uuid4().hex[:10]}"
    client = redis.Redis.from_url(REDIS)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS} is not reachable ({exc})")
    yield prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


# --- instances behind the proxy ---------------------------------------------------------------


@dataclass
class Cluster:
    url: str
    instances: dict[str, Server]
    ports: dict[str, int]
    env: dict[str, str]
    folder: Path
    proxy: subprocess.Popen[bytes]
    proxy_log: Path

    def start(self, name: str) -> None:
        log = self.folder / f"instance-{name}-{time.monotonic_ns()}.log"
        process = spawn([NUMEROUS, "run", "app.py", "--host", "127.0.0.1", "--port",
                         str(self.ports[name]), "--root-path", PREFIX, "--store", REDIS],
                        APP, log, self.env)
        self.instances[name] = Server(process, f"http://127.0.0.1:{self.ports[name]}", log)

    def served_by(self, cookie: str) -> str:
        response = httpx.get(f"{self.url}/numerous/health", cookies={"SERVERID": cookie},
                             timeout=2)
        return response.headers.get("x-served-by", "")

    def wait_up(self, names: tuple[str, ...], timeout: float = 60.0) -> None:
        """Until each instance serves and the proxy sends its pinned requests there."""
        deadline = time.monotonic() + timeout
        for name in names:
            wait_until_serving(self.instances[name], timeout)
        while time.monotonic() < deadline:
            try:
                if all(self.served_by(name) == name for name in names):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        pytest.fail(f"haproxy did not reach {names}:\n{self.report()}")

    def report(self) -> str:
        parts = [f"--- haproxy\n{self.proxy_log.read_text(errors='replace')[-3000:]}"]
        parts += [f"--- instance {name}\n{server.output()[-3000:]}"
                  for name, server in self.instances.items()]
        return "\n".join(parts)


def start_cluster(names: tuple[str, ...], folder: Path, env: dict[str, str]) -> Cluster:
    ports = {name: free_port() for name in names}
    port = free_port()
    servers = "\n".join(f"    server {name} 127.0.0.1:{ports[name]} check cookie {name}"
                        for name in names)
    config = folder / "haproxy.cfg"
    config.write_text(PROXY_CONFIG.format(port=port, servers=servers,
                                            socket=folder / "haproxy.sock", prefix=PREFIX))
    proxy_log = folder / "haproxy.log"
    proxy = spawn([haproxy_path(), "-f", str(config), "-db"], folder, proxy_log)
    cluster = Cluster(f"http://127.0.0.1:{port}{PREFIX}", {}, ports, env, folder, proxy,
                      proxy_log)
    try:
        for name in names:
            cluster.start(name)
        cluster.wait_up(names)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: Cluster) -> None:
    if cluster.proxy.poll() is None:
        cluster.proxy.terminate()
        cluster.proxy.wait(10)
    for server in cluster.instances.values():
        server.stop()
    print(cluster.report())  # shown by pytest when the test failed


@pytest.fixture
def cluster(prefix: str, tmp_path: Path) -> Iterator[Cluster]:
    cluster = start_cluster(NAMES, tmp_path, {"NUMEROUS_STORE_PREFIX": prefix})
    yield cluster
    stop_cluster(cluster)


# --- a visitor that speaks the protocol -----------------------------------------------------


class Visitor:
    """A browser's part without the browser: the page's config, its WebSocket, its changes,
    and, when its session is lost, a new page load that names the lost session."""

    def __init__(self, cluster: Cluster, pinned: str) -> None:
        self.cluster = cluster
        self.http = httpx.AsyncClient(timeout=10)
        self.cookies = {"SERVERID": pinned}
        """What the browser's cookie jar would hold (kept by hand: one value per name)."""
        self.ws: Any = None
        self.session = ""
        self.served_by = ""
        self.ids: dict[str, str] = {}
        self.seq = 0
        self.acked: dict[str, Any] = {"counter": 0, "note": ""}
        """The values the server acknowledged last (a `synced` after the change)."""

    async def load(self, resume: str | None = None) -> dict[str, dict[str, Any]]:
        """A page load and its first hello; returns the widgets' values in the snapshot."""
        response = await self.http.get(f"{self.cluster.url}/", headers=self._cookie())
        assert response.status_code == 200, response.text[:300]
        self.cookies.update(dict(response.cookies.items()))
        found = re.search(r'id="numerous-config" type="application/json">(.*?)</script>',
                          response.text)
        assert found is not None
        config = json.loads(found.group(1))
        self.session, self.ids = config["session"], config["widgets"]
        self.served_by = response.headers.get("x-served-by", "?")
        hello: dict[str, Any] = {"type": "hello", "protocol": PROTOCOL_VERSION,
                                 "session": self.session}
        if resume is not None:
            hello["resume"] = resume
        return await self._connect(config["ws"], hello)

    async def _connect(self, path: str, hello: dict[str, Any]) -> dict[str, dict[str, Any]]:
        url = self.cluster.url.replace("http://", "ws://").removesuffix(PREFIX) + path
        self.ws = await websockets.connect(url, additional_headers=self._cookie())
        await self.ws.send(json.dumps(hello))
        states: dict[str, dict[str, Any]] = {}
        while (message := json.loads(await self.ws.recv()))["type"] != "ready":
            assert message["type"] in ("open", "update"), message
            states.setdefault(message["id"], {}).update(message["state"])
        self.seq = message["ack"]
        return {key: states[model_id] for key, model_id in self.ids.items()}

    async def change(self, counter: int) -> None:
        """Set both values and wait until the server has handled them."""
        self.seq += 1
        note = f"note {counter} of {self.session[:6]}"
        await self.ws.send(json.dumps({"type": "update", "id": self.ids["counter"],
                                       "state": {"value": counter}, "seq": self.seq}))
        await self.ws.send(json.dumps({"type": "update", "id": self.ids["note"],
                                       "state": {"value": note}, "seq": self.seq + 1}))
        self.seq += 1
        await self.ws.send(json.dumps({"type": "sync", "token": self.seq}))
        while (message := json.loads(await self.ws.recv()))["type"] != "synced":
            assert message["type"] != "error", message
        self.acked = {"counter": counter, "note": note}

    async def lost(self) -> bool:
        """Whether the session's socket has ended (its instance went away)."""
        try:
            while True:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), 0.01))
                if message["type"] == "session_lost":
                    return True
        except TimeoutError:
            return False
        except websockets.ConnectionClosed:
            return True

    async def move(self) -> float:
        """What the page does when its instance went away: reconnect (told the session is
        lost), load the page again naming the lost session; checks the values came back.
        Returns the seconds the move took."""
        started = time.monotonic()
        old = self.session
        told = await self._reconnect(old)
        assert told == "session_lost", f"the reconnect of {old[:6]} got {told}"
        values = await self.load(resume=old)
        took = time.monotonic() - started
        got = {key: values[key]["value"] for key in ("counter", "note")}
        assert got == self.acked, f"{old[:6]} on {self.served_by}: {got} != {self.acked}"
        return took

    async def _reconnect(self, session: str) -> str:
        """What the page's reconnect hears from the instance it reaches now."""
        url = self.cluster.url.replace("http://", "ws://") + "/numerous/ws"
        async with websockets.connect(url, additional_headers=self._cookie()) as ws:
            await ws.send(json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION,
                                      "session": session}))
            return str(json.loads(await ws.recv())["type"])

    def _cookie(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.aclose()


async def _visitors(cluster: Cluster) -> list[Visitor]:
    visitors = [Visitor(cluster, NAMES[n % len(NAMES)]) for n in range(VISITORS)]
    await asyncio.gather(*(v.load() for v in visitors))
    assert {v.served_by for v in visitors} == set(NAMES)
    return visitors


async def _change_all(visitors: list[Visitor], start: int, rounds: int) -> None:
    async def one(visitor: Visitor, offset: int) -> None:
        for n in range(rounds):
            await visitor.change(start + offset + n)
    await asyncio.gather(*(one(v, i * 1000) for i, v in enumerate(visitors)))


async def _move_lost(visitors: list[Visitor], gone: str) -> list[float]:
    lost = [v for v in visitors if v.served_by == gone]
    assert lost, f"nobody was on {gone}"
    for visitor in lost:
        deadline = time.monotonic() + 10
        while not await visitor.lost():
            assert time.monotonic() < deadline, "the socket of a stopped instance stayed open"
    times = await asyncio.gather(*(v.move() for v in lost))
    assert all(v.served_by != gone for v in lost)
    return list(times)


async def _close_all(visitors: list[Visitor]) -> None:
    await asyncio.gather(*(v.close() for v in visitors))


def _complaints(app: AppPage) -> list[str]:
    """A page's errors but those a moved page makes in any case: its socket dropping, and the
    browser's request for /favicon.ico at the proxy's root, where it serves nothing (503)."""
    return [error for error in app.errors if "WebSocket" not in error and
            "status of 503" not in error]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the tests --------------------------------------------------------------------------------


def test_sessions_survive_a_killed_instance_and_a_rolling_restart(
        cluster: Cluster, browser: Browser, aio: Any) -> None:
    pages = []
    try:
        # Two Chromium pages on the instance that will be killed, beside the raw visitors.
        for n in range(2):
            context = browser.new_context()
            context.add_cookies([{"name": "SERVERID", "value": "a", "url": cluster.url}])
            app = AppPage(context.new_page()).open(cluster.url)
            app.input("note").fill(f"typed in page {n}")
            for value in range(1, n + 3):
                app.button("button").click()
                expect(app.input("counter")).to_have_value(str(value))
            pages.append(app)
        visitors = aio(_visitors(cluster))
        aio(_change_all(visitors, 1, 5))
        time.sleep(0.6)  # past the store's write round (0.25 s): everything acknowledged is in

        sessions = [app.session_id for app in pages]
        cluster.instances["a"].process.send_signal(signal.SIGKILL)
        cluster.instances["a"].process.wait(10)
        killed_at = time.monotonic()
        times = aio(_move_lost(visitors, "a"))
        rebuilt = time.monotonic() - killed_at
        for n, app in enumerate(pages):
            expect(app.input("counter")).to_have_value(str(n + 2), timeout=20_000)
            expect(app.input("note")).to_have_value(f"typed in page {n}")
            assert app.session_id != sessions[n]
            expect(app.session_lost.banner).to_be_hidden()
            app.button("button").click()
            expect(app.input("counter")).to_have_value(str(n + 3))
        for app in pages:  # a dropped socket is the only complaint
            assert _complaints(app) == [], app.errors
            app.page.context.close()
        pages.clear()
        print(f"killed instance: {len(times)} raw sessions rebuilt elsewhere; move p50 "
              f"{_p(times, 0.5):.3f} s, p99 {_p(times, 0.99):.3f} s, all in {rebuilt:.2f} s")
        aio(_change_all(visitors, 100, 2))

        # A rolling restart: a comes back, then each instance in turn is stopped (SIGTERM, as
        # an orchestrator does) and started again; its visitors move and lose nothing. (b
        # first: a has nobody until b's visitors move.)
        cluster.start("a")
        cluster.wait_up(("a",))
        moved: set[int] = set()
        for name in ("b", "c", "a"):
            time.sleep(0.6)
            cluster.instances[name].process.send_signal(signal.SIGTERM)
            moved |= {id(v) for v in visitors if v.served_by == name}
            aio(_move_lost(visitors, name))
            assert cluster.instances[name].process.wait(15) in (0, -signal.SIGTERM)
            cluster.start(name)
            cluster.wait_up((name,))
            aio(_change_all(visitors, 200 + 10 * NAMES.index(name), 1))
        assert len(moved) == VISITORS  # everyone moved at least once
        aio(_close_all(visitors))
    finally:
        for app in pages:
            app.page.context.close()


@pytest.fixture
def aio() -> Iterator[Any]:
    """`aio(coroutine)`: its result, run on an event loop in a thread of its own (Playwright's
    sync API keeps one on the test's thread); the same loop each time, so that the visitors'
    sockets live on between calls."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(work: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(work, loop).result(timeout)

    yield run
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()  # its self-pipe sockets too


def test_a_shared_widget_changed_on_one_instance_shows_on_another(
        prefix: str, tmp_path: Path, browser: Browser) -> None:
    cluster = start_cluster(NAMES[:2], tmp_path, {"NUMEROUS_STORE_PREFIX": prefix,
                                                  "NUMEROUS_TEST_SHARED": "1"})
    try:
        apps = []
        for name in NAMES[:2]:
            context = browser.new_context()
            context.add_cookies([{"name": "SERVERID", "value": name, "url": cluster.url}])
            apps.append(AppPage(context.new_page()).open(cluster.url))
        on_a, on_b = apps
        on_a.button("button").click()
        expect(on_a.input("counter")).to_have_value("1")
        expect(on_b.input("counter")).to_have_value("1")  # b heard it through Redis
        on_b.input("note").fill("written on b")
        expect(on_a.input("note")).to_have_value("written on b")
        on_b.button("button").click()
        expect(on_a.input("counter")).to_have_value("2")
        for app in apps:
            assert _complaints(app) == [], app.errors
            app.page.context.close()
    finally:
        stop_cluster(cluster)


USERS = [{"username": "ann", "password": "ann-password-1"},
         {"username": "bob", "password": "bob-password-2"}]


def _signed_in(browser: Browser, server: Server, user: dict[str, str]) -> AppPage:
    app = AppPage(browser.new_context().new_page())
    app.open(server.url, "/", wait=False)
    sign_in(app, user["username"], user["password"])
    expect(app.page).to_have_url(f"{server.url}/")
    app.wait_ready()
    return app


def test_a_signed_in_user_continues_in_a_new_browser(
        serve: Any, prefix: str, browser: Browser) -> None:
    server = serve(APP, env={"NUMEROUS_STORE": REDIS, "NUMEROUS_STORE_PREFIX": prefix,
                             "NUMEROUS_AUTH_USERS": json.dumps(USERS),
                             "NUMEROUS_JWT_SECRET": secrets.token_hex(32)})
    laptop = _signed_in(browser, server, USERS[0])
    for value in range(1, 4):
        laptop.button("button").click()
        expect(laptop.input("counter")).to_have_value(str(value))
    laptop.input("note").fill("from the laptop")
    laptop.input("note").blur()
    laptop.page.wait_for_timeout(600)  # past the store's write round
    phone = _signed_in(browser, server, USERS[0])  # a new browser: new cookies, same user
    assert phone.session_id != laptop.session_id
    expect(phone.input("counter")).to_have_value("3")
    expect(phone.input("note")).to_have_value("from the laptop")
    other = _signed_in(browser, server, USERS[1])  # keyed by the user: bob starts afresh
    expect(other.input("counter")).to_have_value("0")
    expect(other.input("note")).to_have_value("")
    for app in (laptop, phone, other):
        assert [e for e in app.errors if "401" not in e] == []
        app.page.context.close()


def _stored(client: redis.Redis, prefix: str) -> dict[str, Any]:
    values = {}
    for key in client.scan_iter(f"{prefix}:/:s:*"):
        for field, text in client.hgetall(key).items():
            if field.startswith(b"["):
                values[json.loads(field)[0]] = json.loads(text)
    return values


def test_pages_carry_on_while_redis_is_down_and_resync_after(
        serve: Any, prefix: str, browser: Browser, tmp_path: Path) -> None:
    port = free_port()
    store = start_redis(tmp_path, port)[0]
    try:
        token = secrets.token_hex(16)
        server = serve(APP, env={"NUMEROUS_STORE": f"redis://127.0.0.1:{port}/0",
                                 "NUMEROUS_STORE_PREFIX": prefix,
                                 "NUMEROUS_METRICS_TOKEN": token})
        app = AppPage(browser.new_context().new_page()).open(server.url)
        app.button("button").click()
        expect(app.input("counter")).to_have_value("1")
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while _stored(client, prefix).get("counter") != 1:
            assert time.monotonic() < deadline, "the change never reached Redis"
            time.sleep(0.05)

        store.kill()
        store.wait(5)
        for value in range(2, 6):  # the page works on, from memory
            app.button("button").click()
            expect(app.input("counter")).to_have_value(str(value))
        app.input("note").fill("typed while Redis was down")
        app.input("note").blur()
        expect(app.session_lost.banner).to_be_hidden()
        reloaded = AppPage(app.page.context.new_page()).open(server.url)  # new pages too
        expect(reloaded.input("counter")).to_have_value("0")

        store = start_redis(tmp_path, port)[0]  # back, and empty
        deadline = time.monotonic() + 15
        while _stored(client, prefix).get("counter") != 5:
            assert time.monotonic() < deadline, f"no resync: {_stored(client, prefix)}"
            time.sleep(0.1)
        assert "typed while Redis was down" in _stored(client, prefix).values()
        # Each failure was counted (and logged: docs/deploy.md).
        metrics = httpx.get(f"{server.url}/numerous/metrics", timeout=5,
                            headers={"Authorization": f"Bearer {token}"}).text
        failures = re.search(r'numerous_store_failures_total\{operation="write"\} (\S+)', metrics)
        assert failures is not None and float(failures.group(1)) >= 1, metrics[-2000:]
        assert _complaints(app) == [], app.errors
        app.page.context.close()
        client.close()
    finally:
        store.kill()
        store.wait(5)
