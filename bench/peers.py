"""The peers: other Python web-app frameworks, each in its own venv, started as its docs deploy it.

A `Peer` says which interpreter and pinned packages make its venv (bench/.venv-<name>/, made
on first use), how its server starts for each bench app (bench/apps/peers/<name>/), and how the
browser bench finds things in its page: every peer renders its own DOM, so "interactive", the
counter's button and displayed value, and the dashboard's wave dropdown and chart are defined
per framework (`PageSpec`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEER_APPS = BENCH / "apps" / "peers"
PEER_APP_NAMES = ("counter", "dashboard")


@dataclass(frozen=True)
class PageSpec:
    """How the browser bench reads a framework's page. JS expressions may call `q(selector)`,
    a querySelector that also looks inside shadow roots (Panel renders in shadow DOM), and
    `qin(host, inner)`, which looks for `inner` in the shadow root of the `host` element.

    - `ready`: true once the page is interactive (a WebSocket must be open too);
    - `button`: Playwright selector of the counter's button (Playwright pierces shadow DOM);
    - `value`: the counter's displayed value, a string (or null before it exists);
    - `poll`: also check every few ms, for pages a MutationObserver on `document` cannot see;
    - `dashboard_ready`: true once the dashboard's chart and table are there;
    - `chart`: `q` selector of the dashboard chart's container, whose canvases, images and SVG
      paths (in shadow roots too) the chart figure fingerprints;
    - `wave`: Playwright selector of the dashboard's wave dropdown: a native `<select>`, or
      what opens its menu;
    - `wave_option`: Playwright selector of one wave in the open menu (`{wave}` is its label);
      empty when `wave` is a native `<select>`.
    """

    ready: str
    button: str
    value: str
    dashboard_ready: str = "false"
    poll: bool = False
    chart: str = "body"
    wave: str = ""
    wave_option: str = ""


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    python: str
    """The base interpreter's minor version, found under pyenv."""
    packages: tuple[str, ...]
    command: tuple[str, ...]
    """Argv after the venv's bin/; `{app}` is the app's file stem, `{port}` the port."""
    page: PageSpec
    path: str = "/"
    """URL path of an app; `{app}` is its file stem (Panel serves each file at /<stem>)."""
    env: dict[str, str] = field(default_factory=dict)
    dev: tuple[tuple[str, ...], dict[str, str]] | None = None
    """How its docs run it while developing, so that saving the app file updates the open
    page: (arguments added to `command`, environment added to `env`); None if it has no
    hot reload."""

    @property
    def venv(self) -> Path:
        return BENCH / f".venv-{self.name}"

    def argv(self, app: str, port: int, dev: bool = False) -> list[str]:
        first, *rest = self.command
        if dev and self.dev is not None:
            rest = [arg for arg in rest if arg not in DEV_DROPS] + list(self.dev[0])
        exe = str(self.venv / "bin" / first)
        return [exe, *(arg.format(app=app, port=port) for arg in rest)]

    def environment(self, port: int, dev: bool = False) -> dict[str, str]:
        extra = self.dev[1] if dev and self.dev is not None else {}
        return {k: v.format(port=port) for k, v in {**self.env, **extra}.items()}

    def url_path(self, app: str) -> str:
        return self.path.format(app=app)


DEV_DROPS = {"--production"}
"""Deployment flags left out in development mode (Solara reloads only without it)."""


def _text_of(selector: str) -> str:
    return f"(q({selector!r}) ? q({selector!r}).textContent.trim() : null)"


def _has_text(selector: str) -> str:
    return f"!!(q({selector!r}) && q({selector!r}).textContent.trim())"


PEERS: dict[str, Peer] = {p.name: p for p in [
    Peer("streamlit", "Streamlit 1.67", "3.11", ("streamlit==1.67.0",),
         ("streamlit", "run", "{app}.py", "--server.headless", "true",
          "--server.address", "127.0.0.1", "--server.port", "{port}",
          "--browser.gatherUsageStats", "false"),
         dev=(("--server.runOnSave", "true"), {}),
         page=PageSpec(ready=f"{_has_text('.st-key-counter p')} && !!q('.st-key-button button')",
                  button=".st-key-button button", value=_text_of(".st-key-counter p"),
                  dashboard_ready="!!q('.st-key-chart canvas, .st-key-chart svg') && "
                                  "!!q('.st-key-table canvas')",
                  chart=".st-key-chart", wave=".st-key-wave button[aria-haspopup='listbox']",
                  wave_option="[role='option']:has-text('{wave}')")),
    Peer("shiny", "Shiny 1.8", "3.11", ("shiny==1.8.0", "pandas", "matplotlib"),
         ("shiny", "run", "{app}.py", "--host", "127.0.0.1", "--port", "{port}"),
         dev=(("--reload",), {}),
         page=PageSpec(ready=f"{_has_text('#counter')} && !!q('#button')",
                  button="#button", value=_text_of("#counter"),
                  dashboard_ready="!!q('#chart img') && !!q('#table table tbody tr')",
                  chart="#chart", wave="select#wave")),
    Peer("solara", "Solara 1.58", "3.11",
         ("solara==1.58.2", "solara-assets==1.58.2", "pandas", "plotly", "anywidget"),
         ("solara", "run", "{app}.py", "--production", "--host", "127.0.0.1",
          "--port", "{port}"),
         dev=((), {}),
         page=PageSpec(ready=f"{_has_text('.bench-counter')} && !!q('.bench-button')",
                  button=".bench-button", value=_text_of(".bench-counter"),
                  # Offline, solara.DataFrame stays an unresolved <v-data-table> element (no
                  # rows): the table counts as there once that element is.
                  dashboard_ready="!!q('.bench-chart .main-svg') && "
                                  "!!q('.bench-table .solara-data-table')",
                  chart=".bench-chart", wave=".bench-wave .v-field",
                  wave_option=".v-overlay--active .v-list-item:has-text('{wave}')")),
    Peer("panel", "Panel 1.10", "3.12", ("panel==1.10.0", "pandas"),
         ("panel", "serve", "{app}.py", "--address", "127.0.0.1", "--port", "{port}",
          "--allow-websocket-origin", "127.0.0.1:{port}"),
         dev=(("--dev",), {}),
         # css_classes land on each component's host element; its content is in its shadow root.
         page=PageSpec(ready="!!qin('.bench-button', 'button') && "
                        "!!(qin('.bench-counter', 'p') || {}).textContent",
                  button=".bench-button button",
                  value="(qin('.bench-counter', 'p') ? "
                        "qin('.bench-counter', 'p').textContent.trim() : null)",
                  # the Bokeh pane's classes stay on a wrapper: the page's only canvas
                  dashboard_ready="!!q('canvas.bk-layer') && "
                                  "!!qin('.bench-table', '.tabulator-row')", poll=True,
                  # the chart's canvases are the page's only ones: fingerprint the page
                  chart="body", wave=".bench-wave select"),
         path="/{app}"),
    Peer("nicegui", "NiceGUI 3.18", "3.11", ("nicegui==3.18.0",),
         ("python", "{app}.py"),
         page=PageSpec(ready=f"{_has_text('.bench-counter')} && !!q('.bench-button')",
                  button=".bench-button", value=_text_of(".bench-counter"),
                  dashboard_ready="!!q('.bench-chart canvas') && "
                                  "!!q('.bench-table tbody tr')",
                  chart=".bench-chart", wave=".bench-wave",
                  wave_option=".q-menu .q-item:has-text('{wave}')"),
         env={"BENCH_PORT": "{port}"}, dev=((), {"BENCH_RELOAD": "1"})),
]}


OURS_PAGE = PageSpec(
    # Every widget's mount point (its id is the widget key) has rendered content.
    ready="__keys.every((k) => { const el = document.getElementById(k); "
          "return el && el.firstElementChild; })",
    button="#button button",
    value="(document.querySelector('#counter input') ? "
          "document.querySelector('#counter input').getAttribute('value') : null)",
    dashboard_ready="__keys.every((k) => { const el = document.getElementById(k); "
                    "return el && el.firstElementChild; })",
    chart="#chart", wave="#wave .custom-select",
    wave_option="#wave .option:has-text('{wave}')")


def ensure_venv(peer: Peer, log: Path | None = None) -> Path:
    """The peer's interpreter, making its venv (base Python from pyenv) on first use."""
    python = peer.venv / "bin" / "python"
    if python.exists():
        return python
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        subprocess.run([pyenv_python(peer.python), "-m", "venv", str(peer.venv)], check=True,
                       stdout=out, stderr=out)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *peer.packages],
                       check=True, stdout=out, stderr=out)
    except subprocess.CalledProcessError:
        shutil.rmtree(peer.venv, ignore_errors=True)  # half-made: try again next time
        raise
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    return python


def pyenv_python(minor: str) -> str:
    """pyenv's newest Python `minor` (e.g. "3.12")."""
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True,
                          check=False).stdout.strip() \
        if shutil.which("pyenv") else os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(f"{root}/versions/{minor}.*/bin/python"))
    if not found:
        raise SystemExit(f"this needs Python {minor}: `pyenv install {minor}`")
    return found[-1]
