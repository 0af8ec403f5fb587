"""The dashboard in Panel: Select and IntSlider bound to a Tabulator and a Bokeh line."""

import sys
from pathlib import Path

import pandas as pd
import panel as pn
from bokeh.plotting import figure

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _data import ROWS, WAVES, series  # noqa: E402

pn.extension("tabulator")

wave = pn.widgets.Select(name="Wave", options=WAVES, css_classes=["bench-wave"])
frequency = pn.widgets.IntSlider(name="Frequency", start=1, end=20, value=3)


def chart(wave, frequency):
    xs, ys = series(wave, frequency)
    plot = figure(height=300, sizing_mode="stretch_width")
    plot.line(xs, ys)
    return plot


def table(wave, frequency):
    xs, ys = series(wave, frequency)
    return pd.DataFrame({"x": xs[:ROWS], "y": ys[:ROWS]})


pn.Column(
    wave, frequency,
    pn.pane.Bokeh(pn.bind(chart, wave, frequency), css_classes=["bench-chart"]),
    pn.widgets.Tabulator(pn.bind(table, wave, frequency), pagination=None,
                         css_classes=["bench-table"]),
).servable()
