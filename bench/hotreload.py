"""Figure 8: hot reload, from saving a file to the browser showing the change.

Ours: `numerous dev app.py` on a copy of the counter app. A template edit adds a marker
element; an app.py edit changes the button's label. The page's init script stamps (epoch ms)
the first time it sees each marker text or label, so the figure runs from just before the
file is written to the change on screen, across the reload the dev server triggers; "then
interactive" adds the wait until the widgets are rendered and connected again.

numerous-apps 0.6.2 has no dev server: nothing watches files or tells a page to reload (`dev`
only raises its log level), so the figure is N/A for it.

A peer runs the way its docs run it while developing (`Peer.dev`: Streamlit with
runOnSave, `shiny run --reload`, `solara run` without --production, `panel serve --dev`,
NiceGUI's `ui.run(reload=True)`) on a copy of its counter app; the edit changes the button's
label, and the clock stops when the page shows the new label (polled every 5 ms through
Playwright, which also sees into shadow roots).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page

from .browser import init_script, new_context
from .peers import PEER_APPS
from .servers import APPS, Framework, Server
from .stats import summary

REFERENCE_NA = ("numerous-apps 0.6.2 has no dev server or file watcher: `dev=True` only "
                "changes its log level, so a saved file changes nothing in an open page; "
                "`uvicorn --reload` restarts the process without telling the page, whose "
                "session is then gone")


def _seen(page: Page, key: str, timeout: float) -> float | None:
    """Epoch ms at which the page first saw `key`, polling across the reload."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = page.evaluate(f"window.__bench && window.__bench.seen[{key!r}]")
        except Exception:  # noqa: BLE001 - the page is navigating
            value = None
        if value:
            return float(value)
        time.sleep(0.005)
    return None


def _ready_epoch(page: Page, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = page.evaluate("window.__bench && window.__bench.ready !== null && "
                                  "performance.timeOrigin + window.__bench.ready")
        except Exception:  # noqa: BLE001
            value = None
        if value:
            return float(value)
        time.sleep(0.005)
    return None


def hot_reload(browser: Browser, framework: Framework, runs: int, log: Path,
               timeout: float = 30.0) -> dict[str, Any]:
    """`runs` template edits and `runs` app.py edits, alternating."""
    if framework.peer is not None:
        return peer_hot_reload(browser, framework, runs, log, timeout)
    if not framework.is_ours:
        return {"na": REFERENCE_NA}
    workdir = Path(tempfile.mkdtemp(prefix="numerous-bench-dev-"))
    shutil.copy(APPS / "_options.py", workdir / "_options.py")
    app_dir = workdir / "counter"
    shutil.copytree(APPS / "counter", app_dir)
    numerous = str(Path(framework.python).parent / "numerous")
    server = Server(framework, "counter", log, app_dir=app_dir,
                    command=[numerous, "dev", "app.py", "--port", "{port}"])
    template, app_py = app_dir / "index.html.j2", app_dir / "app.py"
    original_template, original_app = template.read_text(), app_py.read_text()
    results: dict[str, list[float]] = {"template": [], "template_interactive": [],
                                       "app_py": [], "app_py_interactive": []}
    failures = 0
    try:
        server.wait_serving()
        context = new_context(browser)
        page = context.new_page()
        page.add_init_script(init_script(["counter", "button"]))
        page.goto(server.url + "/")
        page.wait_for_function("window.__bench.ready !== null", timeout=30_000)
        for i in range(runs):
            edits = [
                ("template", template, original_template.replace(
                    "<body>", f'<body>\n  <p id="bench-mark">edit {i}</p>'), f"mark:edit {i}"),
                ("app_py", app_py, original_app.replace('"Click me"', f'"Click me {i}"'),
                 f"label:Click me {i}"),
            ]
            for name, path, text, key in edits:
                time.sleep(0.5)  # let the previous reload settle
                saved = time.time() * 1000
                path.write_text(text)
                shown = _seen(page, key, timeout)
                ready = _ready_epoch(page, timeout) if shown else None
                if shown is None or ready is None:
                    failures += 1
                    continue
                results[name].append(shown - saved)
                results[f"{name}_interactive"].append(max(shown, ready) - saved)
        context.close()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"runs": runs, "failures": failures,
            **{f"{name}_ms": summary(values, 1) for name, values in results.items()}}


def _label(page: Page, selector: str, timeout: float, wanted: str) -> float | None:
    """Epoch ms at which the button `selector` first showed `wanted`, polling across reloads."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = page.locator(selector).first.text_content(timeout=200)
        except Exception:  # noqa: BLE001 - the page is reloading
            text = None
        if text is not None and text.strip() == wanted:
            return time.time() * 1000
        time.sleep(0.005)
    return None


def peer_hot_reload(browser: Browser, framework: Framework, runs: int, log: Path,
                    timeout: float = 30.0) -> dict[str, Any]:
    """`runs` edits of a peer's counter app, each changing the button's label."""
    assert framework.peer is not None
    if framework.peer.dev is None:
        return {"na": f"{framework.peer.label} has no hot reload"}
    workdir = Path(tempfile.mkdtemp(prefix="numerous-bench-peer-dev-"))
    shutil.copy(PEER_APPS / "_data.py", workdir / "_data.py")
    app_dir = workdir / framework.name
    shutil.copytree(PEER_APPS / framework.name, app_dir)
    server = Server(framework, "counter", log, app_dir=app_dir, dev=True)
    app_py = app_dir / "counter.py"
    original = app_py.read_text()
    spec = framework.page
    shown_ms: list[float] = []
    failures = 0
    try:
        server.wait_serving()
        context = new_context(browser)
        page = context.new_page()
        page.add_init_script(init_script([], spec))
        page.goto(server.page_url)
        page.wait_for_function("window.__bench.ready !== null", timeout=60_000)
        for i in range(runs):
            time.sleep(1.0)  # let the previous reload settle
            wanted = f"Click me {i}"
            saved = time.time() * 1000
            app_py.write_text(original.replace('"Click me"', f'"{wanted}"'))
            shown = _label(page, spec.button, timeout, wanted)
            if shown is None:
                failures += 1
                continue
            shown_ms.append(shown - saved)
        context.close()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return {"runs": runs, "failures": failures, "app_py_ms": summary(shown_ms, 1)}
