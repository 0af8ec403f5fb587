"""Figure 9: chart update → DOM, in real Chromium, for ours and every peer's dashboard.

The user picks another wave in the dashboard's dropdown, the control every framework's
dashboard shares with a discrete choice (a slider's value is rate-limited in some frameworks
before it is sent). The clock starts at the input event that commits the choice: the
`pointerdown` on the option of an open menu, or the `input` event of a native `<select>`.
It stops when the chart's DOM shows new data: the chart's fingerprint differs from the one
taken just before the input.

The fingerprint is framework-neutral. Every canvas and image inside the chart's container
(`PageSpec.chart`, shadow roots included) is drawn into a small thumbnail whose pixels are
hashed, and every SVG path's `d` is hashed too. Pixels ignore CSS, so a framework dimming a
stale chart does not count; a blank canvas is left out, so a chart that is replaced counts
when its new canvas is drawn, not when it is inserted. The page is checked when a canvas of
the page draws (2D and WebGL calls are wrapped), when the DOM changes, when an image loads,
and once a frame. For a canvas chart the time is that of the chart canvas's last draw call
before the check; otherwise that of the check. WebGL contexts are created with
`preserveDrawingBuffer` so that their last frame can be read back.
"""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .browser import open_page, wait_ready
from .peers import PageSpec
from .stats import summary

QUIET_MS = 500

WAVES = ["sine", "square", "sawtooth"]
"""The dashboard's waves, in the order of bench/apps/peers/_data.py; the first is shown first."""

CHART_SCRIPT = """
(() => {
  const chartSelector = %(chart)s;
  const c = window.__chart = {armed: false, t0: null, before: null, samples: [], prints: [],
                              sendAt: [], answerAt: [], pending: false, starts: [], tasks: []};
  const now = () => performance.now();
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, options) {
    if (/webgl/.test(type)) options = {...(options || {}), preserveDrawingBuffer: true};
    return getContext.call(this, type, options);
  };
  const drawn = new WeakMap();  // canvas -> performance.now() of its last draw call
  const hook = (proto, names) => {
    for (const name of proto ? names : []) {
      const original = proto[name];
      if (!original) continue;
      proto[name] = function (...args) {
        const result = original.apply(this, args);
        if (c.t0 !== null && this.canvas) { drawn.set(this.canvas, now()); schedule(); }
        return result;
      };
    }
  };
  const thumbDraw = CanvasRenderingContext2D.prototype.drawImage;  // unwrapped
  hook(CanvasRenderingContext2D.prototype, ['stroke', 'fill', 'drawImage', 'putImageData',
                                            'fillRect', 'fillText']);
  for (const gl of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
    hook(gl && gl.prototype, ['drawArrays', 'drawElements']);
  }
  const W = 96, H = 48;
  let thumb = null;
  const FNV = 2166136261, PRIME = 16777619;  // FNV-1a, 32 bits
  const hash = (words) => {
    let h = FNV;
    for (let i = 0; i < words.length; i++) { h ^= words[i]; h = Math.imul(h, PRIME); }
    return (h >>> 0).toString(36);
  };
  const text = (s) => {
    let h = FNV;
    for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, PRIME); }
    return (h >>> 0).toString(36);
  };
  function pixels(el) {
    if (!(el.width || el.naturalWidth)) return null;
    if (el.tagName === 'IMG' && !(el.complete && el.naturalWidth)) return null;
    thumb = thumb || document.createElement('canvas').getContext('2d', {willReadFrequently: true});
    thumb.canvas.width = W; thumb.canvas.height = H;
    try { thumbDraw.call(thumb, el, 0, 0, W, H); } catch (e) { return null; }
    const words = new Uint32Array(thumb.getImageData(0, 0, W, H).data.buffer);
    if (words.every((w) => w === words[0])) return null;  // blank (or one flat colour)
    return hash(words);
  }
  function parts(node, out) {
    if (node.shadowRoot) parts(node.shadowRoot, out);
    for (const el of node.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS' || el.tagName === 'IMG' || el.tagName === 'path') out.push(el);
      if (el.shadowRoot) parts(el.shadowRoot, out);
    }
    return out;
  }
  // The chart's fingerprint, or null while it shows nothing; `when`: its canvases' last draw.
  function fingerprint() {
    const root = window.__benchQ(chartSelector);
    if (!root) return {print: null, when: null};
    const prints = [];
    let when = null;
    for (const el of parts(root, [])) {
      const print = el.tagName === 'path' ? text(el.getAttribute('d') || '') : pixels(el);
      if (print === null) continue;
      prints.push(print);
      const at = drawn.get(el);
      if (at !== undefined && c.t0 !== null && at >= c.t0) when = Math.max(when || 0, at);
    }
    return {print: prints.length ? prints.join(',') : null, when};
  }
  const after = (list, t) => list.find((x) => x >= t);
  function check() {
    c.pending = false;
    if (c.t0 === null) return;
    const checked = now();
    const {print, when} = fingerprint();
    if (print === null || print === c.before) return;
    const t0 = c.t0, b = window.__bench;
    c.samples.push((when === null ? checked : when) - t0);
    c.prints.push(print);
    // Where the time went: input → first frame sent → first frame back → chart shows it.
    const sent = after(b.sends, t0);
    const answer = sent === undefined ? undefined : after(b.messages, sent);
    c.sendAt.push(sent === undefined ? null : sent - t0);
    c.answerAt.push(answer === undefined ? null : answer - t0);
    c.t0 = null;
  }
  function schedule() { if (!c.pending) { c.pending = true; setTimeout(check, 0); } }
  function everyFrame() { if (c.t0 !== null) { check(); requestAnimationFrame(everyFrame); } }
  c.arm = () => { c.before = fingerprint().print; c.t0 = null; c.armed = true; return c.before; };
  // Stop waiting for an update; a sample it left after the wait gave up is dropped.
  c.disarm = (n) => {
    c.armed = false; c.t0 = null;
    for (const list of [c.samples, c.prints, c.sendAt, c.answerAt]) list.length = n;
  };
  const start = (e) => {
    if (!c.armed) return;
    c.armed = false; c.t0 = e.timeStamp; c.starts.push(c.t0);
    requestAnimationFrame(everyFrame);
  };
  // Long tasks: the page answers no input while one runs.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) c.tasks.push([e.startTime, e.duration]);
  }).observe({type: 'longtask'});
  // No long task and no WebSocket message for `ms`: the last update is done with.
  c.quietFor = (ms) => {
    const task = c.tasks.length ? c.tasks[c.tasks.length - 1] : [0, 0];
    const messages = window.__bench.messages;
    const last = Math.max(task[0] + task[1], messages.length ? messages[messages.length - 1] : 0);
    return now() - last >= ms;
  };
  // The longest task from each input until the next one (or now).
  c.longest = () => c.starts.map((t0, i) => Math.max(0, ...c.tasks
    .filter(([at]) => at >= t0 && at < (i + 1 < c.starts.length ? c.starts[i + 1] : Infinity))
    .map(([, duration]) => duration)));
  for (const kind of ['pointerdown', 'input', 'change']) window.addEventListener(kind, start, true);
  document.addEventListener('load', () => { if (c.t0 !== null) check(); }, true);
  new MutationObserver(() => { if (c.t0 !== null) check(); }).observe(
    document, {subtree: true, childList: true, attributes: true, characterData: true});
})();
"""


def chart_script(spec: PageSpec) -> str:
    return CHART_SCRIPT % {"chart": json.dumps(spec.chart)}


def choose(page: Page, spec: PageSpec, wave: str) -> None:
    """Pick `wave` in the dashboard's dropdown the way a user does, arming the clock just
    before the input that commits the choice (opening a menu is not timed)."""
    if spec.wave_option:
        page.click(spec.wave)
        option = page.locator(spec.wave_option.format(wave=wave))
        option.wait_for(state="visible", timeout=5000)
        page.evaluate("window.__chart.arm()")
        option.click(timeout=5000)
        # The pointer leaves the closed menu's place, which may be over the chart, so that a
        # hover effect on the old data (a tooltip) is not taken for the new data.
        page.mouse.move(0, 0)
    else:
        page.evaluate("window.__chart.arm()")
        page.select_option(spec.wave, label=wave, timeout=5000)


def chart_latency(browser: Browser, url: str, keys: list[str], updates: int,
                  spec: PageSpec) -> dict[str, Any]:
    """Pick the next wave `updates` times, each once the page is quiet again and 0.1–0.3 s
    more; each time from the input to the chart's DOM showing the new data."""
    context, page, _ = open_page(browser, keys, spec, dashboard=True)
    page.add_init_script(chart_script(spec))
    errors: list[str] = []
    picked: list[str] = []
    try:
        page.goto(url)
        wait_ready(page)
        for i in range(updates):
            wait_quiet(page)
            page.wait_for_timeout(random.uniform(100, 300))
            wave = WAVES[(i + 1) % len(WAVES)]
            try:
                choose(page, spec, wave)
                page.wait_for_function(f"window.__chart.samples.length > {len(picked)}",
                                       timeout=10_000)
                picked.append(wave)
            except Exception as exc:  # noqa: BLE001 - a lost update is counted
                errors.append(f"{wave}: {str(exc).splitlines()[0][:200]}")
                page.evaluate(f"window.__chart.disarm({len(picked)})")
                page.keyboard.press("Escape")  # a menu left open
        wait_quiet(page)
        chart = page.evaluate("({samples: window.__chart.samples, prints: window.__chart.prints,"
                              " sendAt: window.__chart.sendAt, answerAt: window.__chart.answerAt,"
                              " longest: window.__chart.longest()})")
    finally:
        context.close()
    return summarise(chart, updates, errors, picked)


def wait_quiet(page: Page, quiet_ms: int = QUIET_MS, timeout_ms: float = 60_000) -> None:
    """Until the page has had no long task and no WebSocket message for `quiet_ms`: the user
    picks the next wave once the last one is fully shown (the table too). A page that is
    never quiet that long is measured as it is."""
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(f"window.__chart.quietFor({quiet_ms})", timeout=timeout_ms)


def summarise(chart: dict[str, Any], updates: int, errors: list[str],
              picked: list[str]) -> dict[str, Any]:
    """The figure, with a check of the fingerprints: a chart that draws the same data the
    same way each time has one fingerprint per wave, so more than one means some update was
    caught mid-way (an animation, a partial draw) or the chart changed for another reason."""
    per_wave: dict[str, set[str]] = {}
    for wave, print_ in zip(picked, chart["prints"], strict=False):
        per_wave.setdefault(wave, set()).add(print_)
    sent = [x for x in chart["sendAt"] if x is not None]
    answered = [x for x in chart["answerAt"] if x is not None]
    return {"updates": updates, "errors": len(errors), "first_errors": errors[:3],
            "ms": summary(chart["samples"], 2),
            "longest_task_ms": summary(chart["longest"], 0),
            "fingerprints_per_wave": {wave: len(prints) for wave, prints in per_wave.items()},
            "breakdown": {"input_to_first_send_ms": summary(sent, 2),
                          "input_to_first_answer_ms": summary(answered, 2)}}
