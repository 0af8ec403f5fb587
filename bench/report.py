"""The results JSON as Markdown tables of ratios (ours / reference; each peer / ours) and plots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Getter = Callable[[dict[str, Any]], float | None]


def _get(*path: str) -> Getter:
    def getter(figure: dict[str, Any]) -> float | None:
        value: Any = figure
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value if isinstance(value, int | float) else None

    return getter


def _per_session(count: int) -> Getter:
    def getter(figure: dict[str, Any]) -> float | None:
        for step in figure.get("steps", []):
            if step["sessions"] >= count * 0.9:
                return float(step["kib_per_session"])
        return None

    return getter


# (label, figure key, getter, unit, target for ours / reference or None); lower is better
ROWS: list[tuple[str, str, Getter, str, float | None]] = [
    ("1 TTI cold, counter, p50", "load_counter", _get("cold", "tti_ms", "p50"), "ms", 1 / 2),
    ("1 TTI cold, counter, p99", "load_counter", _get("cold", "tti_ms", "p99"), "ms", None),
    ("1 TTI warm, counter, p50", "load_counter", _get("warm", "tti_ms", "p50"), "ms", 1 / 3),
    ("1 TTI warm, counter, p99", "load_counter", _get("warm", "tti_ms", "p99"), "ms", None),
    ("1 TTI cold, heavy, p50", "load_heavy", _get("cold", "tti_ms", "p50"), "ms", 1 / 2),
    ("1 TTI warm, heavy, p50", "load_heavy", _get("warm", "tti_ms", "p50"), "ms", 1 / 3),
    ("2 bytes cold, counter", "load_counter", _get("cold", "bytes", "p50"), "B", 1 / 10),
    ("2 bytes warm, counter", "load_counter", _get("warm", "bytes", "p50"), "B", 1 / 50),
    ("2 requests cold, counter", "load_counter", _get("cold", "network_requests", "p50"), "",
     None),
    ("2 requests warm, counter", "load_counter", _get("warm", "network_requests", "p50"), "",
     None),
    ("2 bytes cold, heavy", "load_heavy", _get("cold", "bytes", "p50"), "B", 1 / 10),
    ("2 bytes warm, heavy", "load_heavy", _get("warm", "bytes", "p50"), "B", 1 / 50),
    ("2 requests cold, heavy", "load_heavy", _get("cold", "network_requests", "p50"), "", None),
    ("3 click → DOM, p50", "click_browser", _get("ms", "p50"), "ms", 1 / 10),
    ("3 click → DOM, p99", "click_browser", _get("ms", "p99"), "ms", None),
    ("3 click → DOM, no after-input deferral, p50", "click_browser_nodefer", _get("ms", "p50"),
     "ms", 1 / 10),
    ("3 click → DOM, no after-input deferral, p99", "click_browser_nodefer", _get("ms", "p99"),
     "ms", None),
    ("4 WS round trip, p50", "round_trip", _get("ms", "p50"), "ms", None),
    ("4 WS round trip, p99", "round_trip", _get("ms", "p99"), "ms", None),
    ("5 KiB per idle session (100)", "memory", _per_session(100), "KiB", None),
    ("5 KiB per idle session (1000)", "memory", _per_session(1000), "KiB", 1 / 3),
    ("5 RSS growth returned after close", "memory",
     _get("after_close", "rss_returned_fraction"), "", None),
    ("5 threads after close", "memory", _get("after_close", "threads"), "", None),
    ("6 1000 sessions × 1/s, p50", "sustained", _get("ms", "p50"), "ms", None),
    ("6 1000 sessions × 1/s, p99", "sustained", _get("ms", "p99"), "ms", None),
    ("6 1000 sessions × 1/s, errors", "sustained", _get("errors"), "", None),
    ("6 longest server GC pause while clicking", "sustained",
     _get("server_gc", "in_window_max_ms"), "ms", None),
    ("6 knee (p99 > 100 ms), sessions", "knee", _get("p99"), "", None),
    ("6 knee (p50 > 100 ms), sessions", "knee", _get("p50"), "", None),
    ("7 10 000 sets → browser shows last", "burst_browser", _get("ms", "p50"), "ms", None),
    ("7 frames sent (browser)", "burst_browser", _get("frames", "p50"), "", None),
    ("7 10 000 sets → raw client, last", "burst_raw", _get("ms"), "ms", None),
    ("7 frames sent (raw client)", "burst_raw", _get("frames"), "", None),
    ("8 hot reload, template, p50", "hot_reload", _get("template_ms", "p50"), "ms", None),
    ("8 hot reload, app.py, p50", "hot_reload", _get("app_py_ms", "p50"), "ms", None),
    ("9 chart update → DOM, p50", "chart_browser", _get("ms", "p50"), "ms", None),
    ("9 chart update → DOM, p99", "chart_browser", _get("ms", "p99"), "ms", None),
]


NO_RATIO = {"5 RSS growth returned after close", "5 threads after close",
            "6 1000 sessions × 1/s, errors"}
"""Rows where a quotient means nothing (a share, a count that may be zero)."""


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "B":
        return f"{value / 1e6:.2f} MB" if value >= 1e5 else f"{value / 1e3:.1f} kB"
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def table(results: dict[str, Any]) -> str:
    """The Markdown table: ours, reference, ratio and target for every headline figure."""
    figures = results["figures"]
    lines = ["| figure | ours | reference | ours / ref | target | met |",
             "| --- | ---: | ---: | ---: | ---: | :---: |"]
    for label, key, getter, unit, target in ROWS:
        figure = figures.get(key, {})
        ours = getter(figure.get("ours", {}))
        ref_figure = figure.get("reference", {})
        ref = getter(ref_figure) if isinstance(ref_figure, dict) else None
        ratio = ours / ref if ours is not None and ref and label not in NO_RATIO else None
        met = "" if target is None or ratio is None else ("yes" if ratio <= target else "no")
        if isinstance(ref_figure, dict) and "na" in ref_figure:
            ref_text = "N/A"
        else:
            ref_text = _at_most(ref_figure, key, label, _fmt(ref, unit))
        ours_text = _at_most(figure.get("ours", {}), key, label, _fmt(ours, unit))
        lines.append(f"| {label} | {ours_text} | {ref_text} | "
                     f"{'–' if ratio is None else f'{ratio:.3g}'} | "
                     f"{'' if target is None else f'≤ {target:.3g}'} | {met} |")
    p99 = _get("ms", "p99")(figures.get("sustained", {}).get("ours", {}))
    errors = _get("errors")(figures.get("sustained", {}).get("ours", {}))
    sessions = _get("sessions")(figures.get("sustained", {}).get("ours", {}))
    if p99 is not None:
        ok = p99 < 50 and not errors and (sessions or 0) >= 1000
        lines.append(f"| 6 target: {sessions:.0f} sessions, ours p99 < 50 ms, no errors | "
                     f"{p99:.3g} ms, {errors:.0f} errors | | | absolute | "
                     f"{'yes' if ok else 'no'} |")
    return "\n".join(lines)


def _last_step(field: str) -> Getter:
    def getter(figure: dict[str, Any]) -> float | None:
        steps = figure.get("steps") or [{}]
        value = steps[-1].get(field)
        return float(value) if isinstance(value, int | float) else None

    return getter


# (label, figure key, getter, unit): the browser figures every framework has; lower is better
PEER_ROWS: list[tuple[str, str, Getter, str]] = [
    ("TTI cold, counter, p50", "load_counter", _get("cold", "tti_ms", "p50"), "ms"),
    ("TTI warm, counter, p50", "load_counter", _get("warm", "tti_ms", "p50"), "ms"),
    ("bytes cold, counter", "load_counter", _get("cold", "bytes", "p50"), "B"),
    ("bytes warm, counter", "load_counter", _get("warm", "bytes", "p50"), "B"),
    ("requests cold, counter", "load_counter", _get("cold", "network_requests", "p50"), ""),
    ("click → DOM, p50", "click_browser", _get("ms", "p50"), "ms"),
    ("click → DOM, p99", "click_browser", _get("ms", "p99"), "ms"),
    ("click → DOM, no after-input deferral, p50", "click_browser_nodefer", _get("ms", "p50"),
     "ms"),
    ("KiB per idle page (server RSS)", "idle_pages", _last_step("kib_per_session"), "KiB"),
    ("threads per idle page", "idle_pages", _last_step("threads_per_session"), ""),
    ("TTI cold, dashboard, p50", "load_dashboard", _get("cold", "tti_ms", "p50"), "ms"),
    ("TTI warm, dashboard, p50", "load_dashboard", _get("warm", "tti_ms", "p50"), "ms"),
    ("bytes cold, dashboard", "load_dashboard", _get("cold", "bytes", "p50"), "B"),
    ("bytes warm, dashboard", "load_dashboard", _get("warm", "bytes", "p50"), "B"),
    ("hot reload, app.py edit → page shows it, p50", "hot_reload", _get("app_py_ms", "p50"),
     "ms"),
    ("chart update → DOM, p50", "chart_browser", _get("ms", "p50"), "ms"),
    ("chart update → DOM, p99", "chart_browser", _get("ms", "p99"), "ms"),
    ("WS round trip (protocol client), p50", "round_trip", _get("ms", "p50"), "ms"),
    ("WS round trip (protocol client), p99", "round_trip", _get("ms", "p99"), "ms"),
    ("KiB per idle session (protocol clients)", "memory", _last_step("kib_per_session"), "KiB"),
    ("many sessions × 1 click/s, p50", "sustained", _get("ms", "p50"), "ms"),
    ("many sessions × 1 click/s, p99", "sustained", _get("ms", "p99"), "ms"),
]
PEER_SHARES: list[tuple[str, str, Getter]] = [
    ("RSS growth given back after close", "idle_pages",
     _get("after_close", "rss_returned_fraction")),
    ("threads back to baseline after close, s", "idle_pages",
     _get("after_close", "threads_back_after_s")),
    ("many sessions × 1 click/s, errors", "sustained", _get("errors")),
    ("chart updates lost", "chart_browser", _get("errors")),
]


def peers_table(results: dict[str, Any]) -> str:
    """Every framework beside ours: its figure and peer / ours (above 1: ours leads)."""
    figures = results["figures"]
    names = list(dict.fromkeys(name for figure in figures.values() if isinstance(figure, dict)
                               for name in figure if name != "ours"))
    versions = results["meta"].get("versions", {})
    head = [versions.get(n, n).split(" Python")[0] or n for n in names]
    lines = ["| figure | ours | " + " | ".join(head) + " |",
             "| --- | ---: |" + " ---: |" * len(names)]
    for label, key, getter, unit in PEER_ROWS:
        figure = figures.get(key, {})
        ours = _value(figure.get("ours"), getter)
        cells = []
        for name in names:
            value = _value(figure.get(name), getter)
            ratio = f" (×{value / ours:.3g})" if value is not None and ours else ""
            cells.append(_fmt(value, unit) + ratio)
        lines.append(f"| {label} | {_fmt(ours, unit)} | " + " | ".join(cells) + " |")
    for label, key, getter in PEER_SHARES:
        figure = figures.get(key, {})
        cells = [_fmt(_value(figure.get(name), getter), "") for name in ["ours", *names]]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart_target(results: dict[str, Any]) -> str:
    """The chart figure's target, ours at least as fast as the fastest peer, p50 and p99;
    "" when the run has no peer's chart figure."""
    figure = results["figures"].get("chart_browser", {})
    peers = [name for name in figure if name not in ("ours", "reference")]
    lines = []
    for which in ("p50", "p99"):
        getter = _get("ms", which)
        timed = [(value, name) for name in peers
                 if (value := _value(figure.get(name), getter)) is not None]
        ours = _value(figure.get("ours"), getter)
        if not timed or ours is None:
            continue
        fastest, name = min(timed)
        met = "met" if ours <= fastest else "not met"
        lines.append(f"- chart update → DOM, {which}: ours {_fmt(ours, 'ms')}, fastest peer "
                     f"{name} {_fmt(fastest, 'ms')}: target (ours ≤ fastest peer) {met}")
    return "\n".join(lines)


def _value(figure: Any, getter: Getter) -> float | None:
    return getter(figure) if isinstance(figure, dict) and "error" not in figure else None


def _at_most(figure: Any, key: str, label: str, text: str) -> str:
    """A knee already passed at the first step is only known to be at most that many."""
    which = "p99" if "p99" in label else "p50"
    over = isinstance(figure, dict) and figure.get(f"{which}_at_most")
    return f"≤ {text}" if key == "knee" and over else text


def machine_load(results: dict[str, Any]) -> str:
    rows = ["| figure / framework | wall s | machine busy | load avg 1 min |",
            "| --- | ---: | ---: | ---: |"]
    for name, load in results.get("machine_load", {}).items():
        rows.append(f"| {name} | {load['wall_s']} | {load['machine_busy']:.0%} | "
                    f"{load['loadavg_1m']:.1f} |")
    return "\n".join(rows)


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    others = [name for name in meta["versions"] if name not in ("ours", "reference", "chromium")]
    intro = ("Each framework beside ours (its figure, and in brackets its figure / ours: "
             "above 1 means ours leads):")
    peers = ["", intro, "", peers_table(results)] if others else []
    target = chart_target(results)
    if peers and target:
        peers += ["", target]
    return "\n".join([
        f"# Bench results ({meta['mode']}, {meta['started']}, commit {meta.get('commit', '?')})",
        "",
        f"Machine: {meta['machine']}. Ours: {meta['versions'].get('ours')}; reference: "
        f"{meta['versions'].get('reference', 'not run')}; Chromium "
        f"{meta['versions'].get('chromium')}."
        + "".join(f" {name}: {meta['versions'][name]}." for name in others), "",
        table(results), *peers, "",
        "Machine load while each figure ran (busy = share of all cores, this suite included):",
        "", machine_load(results), ""])


def plot(results: dict[str, Any], out: Path) -> list[Path]:
    """Latency against sessions (p50 and p99, both frameworks); [] without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    ramp = results["figures"].get("ramp", {})
    if not ramp:
        return []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, key in zip(axes, ("p50", "p99"), strict=True):
        for name, style in (("ours", "o-"), ("reference", "s--")):
            steps = ramp.get(name)
            if not isinstance(steps, list):
                continue
            xs = [s["sessions"] for s in steps if s["ms"][key] is not None]
            ys = [s["ms"][key] for s in steps if s["ms"][key] is not None]
            ax.plot(xs, ys, style, label=name)
        ax.axhline(100, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sessions, each clicking once a second")
        ax.set_title(f"click → counter update, {key}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("ms (raw WebSocket client)")
    fig.tight_layout()
    path = out / "latency-vs-sessions.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


PEER_PLOTS = [("TTI cold, counter, p50", "ms"), ("TTI warm, counter, p50", "ms"),
              ("click → DOM, p50", "ms"), ("KiB per idle page (server RSS)", "KiB"),
              ("TTI cold, dashboard, p50", "ms"), ("bytes cold, counter", "MB"),
              ("chart update → DOM, p50", "ms"), ("chart update → DOM, p99", "ms")]


def plot_peers(results: dict[str, Any], out: Path) -> list[Path]:
    """One bar chart per headline browser figure, every framework of the run; [] if the run
    had no peer or matplotlib is missing."""
    figures = results["figures"]
    names = list(dict.fromkeys(name for figure in figures.values() if isinstance(figure, dict)
                               for name in figure if name != "reference"))
    if len(names) < 2:
        return []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    rows = {label: (key, getter) for label, key, getter, _ in PEER_ROWS}
    fig, axes = plt.subplots(2, 4, figsize=(17, 6.5))
    for ax, (label, unit) in zip(axes.flat, PEER_PLOTS, strict=True):
        key, getter = rows[label]
        values = [_value(figures.get(key, {}).get(name), getter) for name in names]
        scale = 1e6 if unit == "MB" else 1.0
        heights = [(v or 0) / scale for v in values]
        bars = ax.bar(names, heights, color=["#2a7" if n == "ours" else "#888" for n in names])
        for bar, value in zip(bars, values, strict=True):
            if value is None:
                bar.set_hatch("//")
        ax.set_title(f"{label} ({unit}, lower is better)", fontsize=9)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    path = out / "peers.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
