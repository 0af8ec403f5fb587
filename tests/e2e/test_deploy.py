"""Past one machine: two `numerous run` instances of one app behind HAProxy, with users in
the real PostgreSQL and one JWT secret, as docs/deploy.md describes.

HAProxy serves the app under /counter/, keeps a browser on one instance with a SERVERID
cookie and names the instance that answered in `X-Served-By`. The tests check that a browser
stays on its instance, that either instance signs users in and accepts the other's sign-ins,
that a browser whose instance is killed carries on on the other one (still signed in, with its
values back), and that a rolling restart moves browsers the same way.
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from numerous.apps.auth import CreateUserRequest
from numerous.apps.auth.providers.database_auth import DatabaseAuthProvider
from numerous.apps.testing import AppPage, Server, free_port, spawn, wait_until_serving

from ._support import HAPROXY_CONFIG, INSTANCES, POSTGRES, PREFIX, haproxy_path, in_thread, sign_in

APP = Path(__file__).resolve().parent / "deploy"
NUMEROUS = str(Path(sys.executable).parent / "numerous")
USERS = {"ann": "ann-password-1", "bob": "bob-password-2"}


@pytest.fixture(scope="module")
def database() -> Iterator[dict[str, str]]:
    """Tables with a prefix of their own in the real PostgreSQL, holding ann and bob; dropped
    after the module."""
    prefix = f"deploy{uuid.uuid4().hex[:10]}_"
    provider = DatabaseAuthProvider(POSTGRES, jwt_secret=secrets.token_hex(32),
                                    table_prefix=prefix)

    async def create_users() -> None:
        for username, password in USERS.items():
            await provider.create_user(CreateUserRequest(username=username, password=password))

    try:
        in_thread(create_users())
    except OSError as exc:
        pytest.fail(f"PostgreSQL at {POSTGRES} is not reachable ({exc}); set "
                    "NUMEROUS_TEST_POSTGRES to another database")
    yield {"NUMEROUS_TEST_DATABASE_URL": POSTGRES, "NUMEROUS_TEST_TABLE_PREFIX": prefix}
    in_thread(provider.drop_tables())
    in_thread(provider.close())


# --- two instances and the proxy ------------------------------------------------------------


@dataclass
class Cluster:
    url: str
    instances: dict[str, Server]
    proxy: subprocess.Popen[bytes]
    proxy_log: Path
    admin_socket: Path

    def kill(self, name: str) -> None:
        process = self.instances[name].process
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def admin(self, command: str) -> str:
        """A command to HAProxy's runtime API, e.g. `set server apps/a state maint`."""
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(str(self.admin_socket))
            connection.sendall(command.encode() + b"\n")
            return connection.makefile().read()

    def served_by(self, cookie: str | None = None) -> str:
        cookies = {"SERVERID": cookie} if cookie else None
        response = httpx.get(f"{self.url}/numerous/health", cookies=cookies, timeout=2)
        return response.headers.get("x-served-by", "")

    def report(self) -> str:
        parts = [f"--- haproxy\n{self.proxy_log.read_text(errors='replace')}"]
        parts += [f"--- instance {name}\n{server.output()}"
                  for name, server in self.instances.items()]
        return "\n".join(parts)


@pytest.fixture
def cluster(database: dict[str, str], tmp_path: Path) -> Iterator[Cluster]:
    """Two `numerous run` processes of the app (one secret, one user database) and HAProxy in
    front of them, all on free 127.0.0.1 ports; stopped after the test."""
    haproxy = haproxy_path()
    env = {**database, "NUMEROUS_JWT_SECRET": secrets.token_hex(32)}
    instances: dict[str, Server] = {}
    for name in INSTANCES:
        port = free_port()
        log = tmp_path / f"instance-{name}.log"
        process = spawn([NUMEROUS, "run", "app.py", "--host", "127.0.0.1", "--port", str(port),
                         "--root-path", PREFIX], APP, log, env)
        instances[name] = Server(process, f"http://127.0.0.1:{port}", log)
    port = free_port()
    servers = "\n".join(f"    server {name} {server.url.removeprefix('http://')} check "
                        f"cookie {name}" for name, server in instances.items())
    config = tmp_path / "haproxy.cfg"
    admin = tmp_path / "haproxy.sock"
    config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers, socket=admin,
                                            prefix=PREFIX))
    proxy_log = tmp_path / "haproxy.log"
    proxy = spawn([haproxy, "-f", str(config), "-db"], tmp_path, proxy_log)
    cluster = Cluster(f"http://127.0.0.1:{port}{PREFIX}", instances, proxy, proxy_log, admin)
    try:
        for server in instances.values():
            wait_until_serving(server, 30)
        wait_for_proxy(cluster)
        yield cluster
    finally:
        if proxy.poll() is None:
            proxy.terminate()
            proxy.wait(10)
        for server in instances.values():
            server.stop()
        print(cluster.report())  # shown by pytest when the test failed


def wait_for_proxy(cluster: Cluster, timeout: float = 15.0) -> None:
    """Until HAProxy answers and sends a pinned request to each instance."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.proxy.poll() is not None:
            pytest.fail(f"haproxy exited:\n{cluster.report()}")
        try:
            if all(cluster.served_by(name) == name for name in INSTANCES):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    pytest.fail(f"haproxy did not reach both instances in {timeout} s:\n{cluster.report()}")


# --- a browser ------------------------------------------------------------------------------


@dataclass
class Visitor:
    """A browser (a context of its own) with one page, and the instance of every response."""

    context: BrowserContext
    app: AppPage
    served_by: list[str] = field(default_factory=list)
    pages_from: list[str] = field(default_factory=list)
    """The instance of each page (document) load: a late answer to the old page's requests
    can come after the new page's, so where the page now is is read here."""
    errors: list[str] = field(default_factory=list)

    @property
    def page(self) -> Page:
        return self.app.page

    def sign_in(self, url: str, username: str) -> None:
        self.app.open(url, "/", wait=False)
        expect(self.page).to_have_url(f"{url}/login?next={quote(PREFIX + '/', safe='')}")
        sign_in(self.app, username, USERS[username])
        expect(self.page).to_have_url(f"{url}/")
        self.app.wait_ready()
        expect(self.app.input("greeting")).to_have_value(f"Hello {username}")

    def click_to(self, value: int) -> None:
        self.app.button("button").click()
        expect(self.counter).to_have_value(str(value))

    @property
    def counter(self) -> Any:
        return self.app.input("counter")

    @property
    def session(self) -> str:
        return self.app.session_id


@pytest.fixture
def visit(browser: Browser, cluster: Cluster) -> Iterator[Any]:
    """`visit(pinned=None)`: a new browser through the proxy, pinned to an instance by its
    SERVERID cookie if asked."""
    contexts: list[BrowserContext] = []

    def _visit(pinned: str | None = None) -> Visitor:
        context = browser.new_context()
        contexts.append(context)
        if pinned is not None:
            context.add_cookies([{"name": "SERVERID", "value": pinned, "url": cluster.url}])
        visitor = Visitor(context, AppPage(context.new_page()))
        def seen(response: Any) -> None:
            if not response.url.startswith(cluster.url):
                return
            instance = response.headers.get("x-served-by", "?")
            visitor.served_by.append(instance)
            if response.request.resource_type == "document" and response.status == 200:
                visitor.pages_from.append(instance)

        visitor.page.on("response", seen)
        visitor.page.on("pageerror", lambda exc: visitor.errors.append(str(exc)))
        return visitor

    yield _visit
    for context in contexts:
        context.close()


def socket_lines(server: Server) -> int:
    return server.output().count(f'"WebSocket {PREFIX}/numerous/ws" [accepted]')


# --- the tests ------------------------------------------------------------------------------


def test_a_browser_stays_on_its_instance(cluster: Cluster, visit: Any) -> None:
    visitor = visit()
    visitor.sign_in(cluster.url, "ann")
    session = visitor.session
    for value in range(1, 21):
        visitor.click_to(value)
    assert visitor.session == session
    # Every response, from the first redirect on, came from one instance...
    home = visitor.served_by[0]
    assert home in INSTANCES and set(visitor.served_by) == {home}, visitor.served_by
    assert len(visitor.served_by) > 10
    # ...and so did the WebSocket: the other instance never saw one.
    other = next(name for name in INSTANCES if name != home)
    assert socket_lines(cluster.instances[home]) == 1
    assert socket_lines(cluster.instances[other]) == 0
    assert visitor.errors == []


def test_either_instance_signs_users_in(cluster: Cluster, visit: Any) -> None:
    ann, bob = visit(pinned="a"), visit(pinned="b")
    ann.sign_in(cluster.url, "ann")
    bob.sign_in(cluster.url, "bob")
    ann.click_to(1)
    bob.click_to(1)
    bob.click_to(2)
    # One user database and one secret: each instance signed in its own visitor...
    assert set(ann.served_by) == {"a"}, ann.served_by
    assert set(bob.served_by) == {"b"}, bob.served_by
    expect(ann.counter).to_have_value("1")
    assert ann.errors == bob.errors == []
    # ...and a sign-in on one instance is good on the other.
    ann.context.add_cookies([{"name": "SERVERID", "value": "b", "url": cluster.url}])
    me = ann.page.evaluate("fetch('api/auth/me').then(async r => "
                           "[r.status, r.headers.get('x-served-by'), (await r.json()).user])")
    assert me[:2] == [200, "b"] and me[2]["username"] == "ann", me


def test_a_killed_instance_sends_its_browsers_to_the_other(cluster: Cluster,
                                                           visit: Any) -> None:
    visitor = visit(pinned="a")
    page = visitor.page
    visitor.sign_in(cluster.url, "ann")
    for value in range(1, 6):
        visitor.click_to(value)
    page.wait_for_timeout(400)  # the page keeps its values a moment after each change
    session = visitor.session
    started = time.monotonic()
    with page.expect_navigation(timeout=20_000):
        cluster.kill("a")
    # The socket dropped, the reconnect reached b, which did not know the session: the page
    # reloaded by itself, on b, still signed in, and offered its values to its new session.
    visitor.app.wait_ready()
    moved_after = time.monotonic() - started
    assert visitor.session != session
    expect(page).to_have_url(f"{cluster.url}/")
    expect(visitor.counter).to_have_value("5")
    expect(visitor.app.input("greeting")).to_have_value("Hello ann")
    expect(visitor.app.session_lost.banner).to_be_hidden()
    assert visitor.pages_from[-1] == "b", (visitor.pages_from, visitor.served_by)
    assert page.evaluate("window.numerousAuth.ready.then(() => "
                         "window.numerousAuth.getUserContext().username)") == "ann"
    # The refresh token, issued by a, is in the shared database: b rotates it.
    assert page.evaluate("window.numerousAuth.refresh()") is True
    assert page.evaluate("fetch('api/auth/me').then(r => r.headers.get('x-served-by'))") == "b"
    # The restored session goes on from the value on the surviving instance.
    visitor.click_to(6)
    visitor.click_to(7)
    # b saw two WebSockets: the reconnect it told that the session was lost, and the new page's.
    assert socket_lines(cluster.instances["b"]) == 2
    assert visitor.errors == []
    assert moved_after < 10, f"the page took {moved_after:.1f} s to move"


@pytest.mark.parametrize("drain_first", [True, False], ids=["drained", "straight"])
def test_a_rolling_restart_moves_browsers_without_a_banner(cluster: Cluster, visit: Any,
                                                          drain_first: bool) -> None:
    visitor = visit(pinned="a")
    page = visitor.page
    visitor.sign_in(cluster.url, "ann")
    for value in range(1, 4):
        visitor.click_to(value)
    page.wait_for_timeout(400)
    if drain_first:
        # Taken out of the balancer first, a's pages can only reload onto b.
        assert cluster.admin("set server apps/a state maint").strip() == ""
    # SIGTERM, as systemd or Kubernetes send it: a stops accepting at once, answers any page
    # load on a connection already open with 503 (which HAProxy retries on b), then tells
    # its pages that their sessions ended.
    with page.expect_navigation(timeout=20_000):
        cluster.instances["a"].process.send_signal(signal.SIGTERM)
    visitor.app.wait_ready()
    expect(visitor.counter).to_have_value("3")
    expect(visitor.app.session_lost.banner).to_be_hidden()
    assert visitor.pages_from[-1] == "b", (visitor.pages_from, visitor.served_by)
    visitor.click_to(4)
    assert cluster.instances["a"].process.wait(15) in (0, -signal.SIGTERM)
    assert visitor.errors == []
