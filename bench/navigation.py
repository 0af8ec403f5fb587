"""Page-to-page navigation in Chromium: time to interactive after following a link from one
page of an app to another, against a first load of the same page in a fresh browser profile.

    python bench/navigation.py              # 20 rounds
    python bench/navigation.py --rounds 5

The app is examples/orders under uvicorn on a free 127.0.0.1 port. Each round loads
`/orders/<n>` in a new browser context (cold cache: the first load), then opens `/` in
another context and follows the link to `/orders/<n>` (warm cache: the client and widget code
come from the browser's cache, the page and its session are new). Time to interactive is
from the document's navigation start until the client marks the page ready
(`data-numerous-ready`: widgets rendered, WebSocket open), stamped by a script installed
before the page's own.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/navigation.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from bench import servers  # noqa: E402
from bench.stats import summary  # noqa: E402
from numerous.apps.testing import chromium_launch_args  # noqa: E402

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "orders"
STAMP_READY = """
new MutationObserver((_, observer) => {
  if (document.documentElement?.dataset.numerousReady === "true") {
    window.__readyAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["data-numerous-ready"]});
"""


def ready_at(page: Any, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate("window.__readyAt ?? null")
        if value is not None:
            return float(value)
        time.sleep(0.005)
    raise RuntimeError(f"{page.url} never became ready")


def first_load(browser: Browser, url: str) -> float:
    context = browser.new_context()
    context.add_init_script(STAMP_READY)
    page = context.new_page()
    page.goto(url)
    took = ready_at(page)
    context.close()
    return took


def navigation(browser: Browser, base: str, order: int) -> float:
    context = browser.new_context()
    context.add_init_script(STAMP_READY)
    page = context.new_page()
    page.goto(base + "/")
    ready_at(page)
    page.locator('[data-numerous-widget="table"]').get_by_role(
        "link", name=str(order), exact=True).click()
    page.wait_for_url(f"{base}/orders/{order}")
    took = ready_at(page)
    context.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    out = Path(__file__).resolve().parent / "results" / "navigation" / time.strftime(
        "%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    server = servers.Server(servers.ours(), "orders", out / "server.log", app_dir=EXAMPLE)
    firsts, navigations = [], []
    with server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_launch_args())
        for round_ in range(args.rounds):
            order = 1 + round_ % 8
            firsts.append(first_load(browser, f"{server.url}/orders/{order}"))
            navigations.append(navigation(browser, server.url, order))
        browser.close()
    rows = {"first_load_ms": summary(firsts), "page_to_page_ms": summary(navigations)}
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    lines = ["| time to interactive | p50 | p90 |", "| --- | ---: | ---: |"]
    for name, label in (("first_load_ms", "first load (fresh profile)"),
                        ("page_to_page_ms", "page to page (link)")):
        lines.append(f"| {label} | {rows[name]['p50']} ms | {rows[name]['p90']} ms |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
