"""Figures 1–3 and 7 in real Chromium (Playwright), measured the same way for both frameworks.

Time to interactive is framework-neutral: from navigation start until every widget's mount
point (the element whose id is the widget key, in both frameworks) has rendered content *and*
a WebSocket of the page is open, observed by a script installed before the page's own.
Bytes are the encoded bytes of every HTTP response that came over the network (CDP
`Network.loadingFinished`), plus WebSocket payload bytes counted apart.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, CDPSession, Page, sync_playwright

from .peers import OURS_PAGE, PageSpec
from .stats import summary

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

# Installed before any script of the page: WebSocket open/message counts, time to interactive,
# and the first time a hot-reload marker or a button label is seen (epoch ms). `q` is a
# querySelector that also looks into open shadow roots (Panel renders in shadow DOM); the
# framework's PageSpec says when its page is interactive.
INIT_SCRIPT = """
(() => {
  const __keys = %(keys)s;
  const q = window.__benchQ = (selector, root = document) => {
    const found = root.querySelector(selector);
    if (found) return found;
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) { const inner = q(selector, el.shadowRoot); if (inner) return inner; }
    }
    return null;
  };
  // `inner` inside the shadow root of the element `host` matches (Panel's components).
  const qin = (host, inner) => { const h = q(host); return h && h.shadowRoot ? q(inner, h.shadowRoot) : null; };
  window.__benchValue = () => %(value)s;
  const b = window.__bench = {ready: null, wsOpen: null, wsMessages: 0, seen: {},
                              sends: [], messages: []};
  const stamp = (list) => { list.push(performance.now()); if (list.length > 64) list.shift(); };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('open', () => { if (b.wsOpen === null) b.wsOpen = performance.now();
                                            check(); });
      this.addEventListener('message', () => { b.wsMessages += 1; stamp(b.messages); });
    }
    send(data) { stamp(b.sends); return super.send(data); }
  };
  const epoch = () => performance.timeOrigin + performance.now();
  function see(kind, el) {
    const text = el && el.textContent.trim();
    if (text && !(kind + ':' + text in b.seen)) b.seen[kind + ':' + text] = epoch();
  }
  function check() {
    see('mark', document.getElementById('bench-mark'));
    see('label', document.querySelector('#button button'));
    if (b.ready !== null || b.wsOpen === null) return;
    if (!document.body || !(%(ready)s)) return;
    b.ready = performance.now();
  }
  new MutationObserver(check).observe(document, {childList: true, subtree: true,
                                                 characterData: true});
  if (%(poll)s) {
    const timer = setInterval(() => { check(); if (b.ready !== null) clearInterval(timer); }, 4);
  }
})();
"""


def init_script(keys: list[str], spec: PageSpec = OURS_PAGE, dashboard: bool = False) -> str:
    """The init script for a page of the framework `spec` describes."""
    return INIT_SCRIPT % {"keys": json.dumps(keys), "value": spec.value,
                          "ready": spec.dashboard_ready if dashboard else spec.ready,
                          "poll": "true" if spec.poll else "false"}


CLICK_SCRIPT = """
() => {
  const value = window.__benchValue;
  const c = window.__clk = {t0: null, before: null, samples: [], frames0: 0, frames: [],
                            until: null, sendAt: [], answerAt: []};
  const after = (list, t) => list.find((x) => x >= t);
  document.addEventListener('pointerdown', (e) => {
    c.t0 = e.timeStamp; c.before = value();
    c.frames0 = window.__bench.wsMessages;
  }, true);
  const observer = new MutationObserver(() => {
    if (c.t0 === null) return;
    const now_value = value();
    if (now_value === null || now_value === c.before ||
        (c.until !== null && now_value !== c.until)) return;
    const now = performance.now(), b = window.__bench;
    c.samples.push(now - c.t0);
    c.frames.push(b.wsMessages - c.frames0);
    // Where the time went: pointerdown → first frame sent → first frame back → DOM.
    const sent = after(b.sends, c.t0);
    const answer = sent === undefined ? undefined : after(b.messages, sent);
    c.sendAt.push(sent === undefined ? null : sent - c.t0);
    c.answerAt.push(answer === undefined ? null : answer - c.t0);
    c.t0 = null;
  });
  // The counter's own mount point where there is one (ours); else the root node holding the
  // counter's button: the document, or the shadow root it renders in (Panel).
  const mount = document.getElementById('counter');
  const holder = window.__benchQ(%(button)s);
  const root = mount || (holder ? holder.getRootNode() : document);
  const options = {subtree: true, attributes: true, childList: true, characterData: true};
  observer.observe(root, options);
  if (mount) return;
  // In shadow DOM the value sits in another component's shadow root: watch every one.
  const deep = (node) => {
    for (const el of node.querySelectorAll('*')) {
      if (el.shadowRoot) { observer.observe(el.shadowRoot, options); deep(el.shadowRoot); }
    }
  };
  deep(document);
}
"""


def click_script(spec: PageSpec) -> str:
    return CLICK_SCRIPT % {"button": json.dumps(spec.button)}


NO_INPUT_DEFERRAL = "--disable-features=DeferRendererTasksAfterInput"
"""Chromium holds back some of a page's tasks, WebSocket messages among them, after a discrete
input event such as a click, until it has produced the next frame (it helps Interaction to Next
Paint). Figure 3 runs a second time with this flag, which turns that off, to show the part of
the click latency that is the browser's frame wait rather than either framework."""


@contextmanager
def with_args(browser: Browser, extra_args: tuple[str, ...]) -> Iterator[Browser]:
    """Another Chromium from the same Playwright as `browser`, launched with `extra_args` too."""
    other = browser.browser_type.launch(executable_path=shutil.which("chromium"),
                                        args=[*CHROMIUM_ARGS, *extra_args])
    try:
        yield other
    finally:
        other.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    path = shutil.which("chromium")
    if path is None:
        raise SystemExit("Chromium not found: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Traffic:
    """HTTP requests and bytes of one page, from CDP Network events."""

    def __init__(self, cdp: CDPSession) -> None:
        self.reset()
        cdp.send("Network.enable")
        cdp.on("Network.requestWillBeSent", self._request)
        cdp.on("Network.requestServedFromCache", self._cached)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketFrameReceived", self._ws_in)
        cdp.on("Network.webSocketCreated", self._ws_open)

    def reset(self) -> None:
        self.urls: dict[str, str] = {}
        self.from_cache: set[str] = set()
        self.encoded: dict[str, int] = {}
        self.ws_bytes = 0
        self.ws_frames = 0
        self.ws_connections = 0

    def _request(self, params: dict[str, Any]) -> None:
        url = params["request"]["url"]
        if url.startswith("http"):
            self.urls[params["requestId"]] = url

    def _cached(self, params: dict[str, Any]) -> None:
        self.from_cache.add(params["requestId"])

    def _response(self, params: dict[str, Any]) -> None:
        response = params["response"]
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            self.from_cache.add(params["requestId"])

    def _finished(self, params: dict[str, Any]) -> None:
        self.encoded[params["requestId"]] = int(params.get("encodedDataLength", 0))

    def _ws_in(self, params: dict[str, Any]) -> None:
        self.ws_frames += 1
        self.ws_bytes += len(params["response"].get("payloadData", ""))

    def _ws_open(self, params: dict[str, Any]) -> None:
        self.ws_connections += 1

    def largest(self, count: int = 6) -> list[tuple[str, int]]:
        """The biggest responses that came over the network: (path, encoded bytes)."""
        rows = [(self.urls[rid].split("//", 1)[-1].split("/", 1)[-1][:80], size)
                for rid, size in self.encoded.items()
                if rid in self.urls and rid not in self.from_cache]
        return sorted(rows, key=lambda row: -row[1])[:count]

    def snapshot(self) -> dict[str, Any]:
        network = [rid for rid in self.urls if rid not in self.from_cache]
        http_bytes = sum(self.encoded.get(rid, 0) for rid in network)
        return {"largest": self.largest(), "requests": len(self.urls),
                "network_requests": len(network), "cached_requests": len(self.urls) - len(network),
                "http_bytes": http_bytes, "ws_payload_bytes": self.ws_bytes,
                "ws_frames": self.ws_frames,
                "bytes": http_bytes + self.ws_bytes}


def new_context(browser: Browser) -> Any:
    """A fresh context: empty cache and cookies. `bypass_csp` lets Playwright's own waiting
    functions run on pages whose Content-Security-Policy forbids eval; the pages' scripts
    behave as they would without it."""
    return browser.new_context(bypass_csp=True)


def open_page(browser: Browser, keys: list[str], spec: PageSpec = OURS_PAGE,
              dashboard: bool = False) -> tuple[Any, Page, Traffic]:
    """A page in a fresh context with the init script for `spec`, and its traffic."""
    context = new_context(browser)
    page = context.new_page()
    page.add_init_script(init_script(keys, spec, dashboard))
    traffic = Traffic(context.new_cdp_session(page))
    return context, page, traffic


def wait_ready(page: Page, timeout_ms: float = 90_000) -> float:
    """Until the page is interactive; its time to interactive (ms since navigation start)."""
    page.wait_for_function("window.__bench && window.__bench.ready !== null", timeout=timeout_ms)
    return float(page.evaluate("window.__bench.ready"))


# --- figures 1 and 2: time to interactive, bytes and requests ---------------------------------

def page_loads(browser: Browser, url: str, keys: list[str], runs: int,
               settle_ms: int = 500, spec: PageSpec = OURS_PAGE,
               dashboard: bool = False) -> dict[str, Any]:
    """`runs` cold loads (each in a fresh context), each followed by a warm reload."""
    samples: dict[str, list[dict[str, Any]]] = {"cold": [], "warm": []}
    for _ in range(runs):
        context, page, traffic = open_page(browser, keys, spec, dashboard)
        try:
            page.goto(url, wait_until="commit")
            for kind in ("cold", "warm"):
                if kind == "warm":
                    traffic.reset()
                    page.reload(wait_until="commit")
                tti = wait_ready(page)
                page.wait_for_timeout(settle_ms)  # late requests count too
                samples[kind].append({"tti_ms": tti, **traffic.snapshot()})
        finally:
            context.close()
    return {kind: _summarise_loads(rows) for kind, rows in samples.items()}


def _summarise_loads(rows: list[dict[str, Any]]) -> dict[str, Any]:
    fields = ["tti_ms", "bytes", "http_bytes", "ws_payload_bytes", "requests",
              "network_requests", "cached_requests"]
    result: dict[str, Any] = {name: summary([row[name] for row in rows], 1) for name in fields}
    result["largest"] = rows[-1]["largest"] if rows else []
    return result


# --- figure 3: click → DOM update --------------------------------------------------------------

def click_latency(browser: Browser, url: str, keys: list[str], clicks: int,
                  spec: PageSpec = OURS_PAGE) -> dict[str, Any]:
    """Click the button `clicks` times (0.05–0.15 s apart); each time from the pointerdown
    event's timestamp to the MutationObserver seeing the counter's value change."""
    context, page, _ = open_page(browser, keys, spec)
    errors = 0
    try:
        page.goto(url)
        wait_ready(page)
        page.evaluate(click_script(spec))
        for i in range(clicks):
            page.wait_for_timeout(random.uniform(50, 150))
            page.click(spec.button)
            try:
                page.wait_for_function(f"window.__clk.samples.length >= {i + 1 - errors}",
                                       timeout=5000)
            except Exception:  # noqa: BLE001 - a lost click is counted
                errors += 1
                page.evaluate("window.__clk.t0 = null")
        clk = page.evaluate("window.__clk")
    finally:
        context.close()
    sent = [x for x in clk["sendAt"] if x is not None]
    answered = [x for x in clk["answerAt"] if x is not None]
    return {"clicks": clicks, "errors": errors, "ms": summary(clk["samples"], 2),
            "breakdown": {"pointerdown_to_first_send_ms": summary(sent, 2),
                          "pointerdown_to_first_answer_ms": summary(answered, 2)}}


# --- figure 7: a callback setting a value 10 000 times ------------------------------------------

def burst_in_browser(browser: Browser, url: str, keys: list[str], times: int, runs: int,
                     timeout_ms: float = 120_000) -> dict[str, Any]:
    """Click the burst button; time until the page shows `times`, and WebSocket messages the
    page received in between (the frames the server actually sent)."""
    durations, frames, unfinished = [], [], 0
    for _ in range(runs):
        context, page, _ = open_page(browser, keys)
        try:
            page.goto(url)
            wait_ready(page)
            page.evaluate(click_script(OURS_PAGE))
            page.evaluate(f"window.__clk.until = '{times}'")
            page.click("#button button")
            try:
                page.wait_for_function("window.__clk.samples.length >= 1", timeout=timeout_ms)
                durations.append(page.evaluate("window.__clk.samples[0]"))
                frames.append(page.evaluate("window.__clk.frames[0]"))
            except Exception:  # noqa: BLE001
                unfinished += 1
        finally:
            context.close()
    return {"sets": times, "runs": runs, "unfinished": unfinished, "ms": summary(durations, 1),
            "frames": summary(frames, 0)}


# --- idle sessions opened by real pages: server RSS and threads ---------------------------------

def idle_sessions(browser: Browser, url: str, keys: list[str], counts: list[int],
                  probe: Callable[[], tuple[int, int]], grace: float, settle: float = 3.0,
                  spec: PageSpec = OURS_PAGE) -> dict[str, Any]:
    """Server RSS and threads with `counts` idle pages open (each its own browser context,
    so its own session in every framework), then after they all close. Same shape as
    `loadgen.idle_memory`, for frameworks whose wire protocol the load generator cannot speak."""
    def open_one() -> Any:
        context, page, _ = open_page(browser, keys, spec)
        page.goto(url, wait_until="commit")
        wait_ready(page)
        return context

    for context in [open_one() for _ in range(3)]:  # imports, caches, first sessions
        context.close()
    time.sleep(grace + settle)
    base_rss, base_threads = probe()
    result: dict[str, Any] = {"baseline": {"rss_kib": base_rss, "threads": base_threads},
                              "grace_s": grace, "steps": [], "clients": "browser pages"}
    contexts: list[Any] = []
    rss = base_rss
    for count in counts:
        while len(contexts) < count:
            contexts.append(open_one())
        time.sleep(settle)
        rss, threads = probe()
        result["steps"].append({
            "sessions": len(contexts), "rss_kib": rss, "threads": threads,
            "kib_per_session": round((rss - base_rss) / max(1, len(contexts)), 1),
            "threads_per_session": round((threads - base_threads) / max(1, len(contexts)), 3)})
    peak_rss = rss
    for context in contexts:
        context.close()
    closed_at = time.monotonic()
    threads_back_s = None
    while time.monotonic() < closed_at + grace + 30:
        time.sleep(1.0)
        rss, threads = probe()
        if threads <= base_threads + 1:
            threads_back_s = round(time.monotonic() - closed_at, 1)
            break
    time.sleep(settle)
    rss, threads = probe()
    returned = (peak_rss - rss) / (peak_rss - base_rss) if peak_rss > base_rss else None
    result["after_close"] = {
        "waited_s": round(time.monotonic() - closed_at, 1), "rss_kib": rss, "threads": threads,
        "threads_back_after_s": threads_back_s,
        "rss_returned_fraction": None if returned is None else round(returned, 3),
        "threads_returned": threads <= base_threads + 1}
    return result
