"""The dashboard in Solara: Select and SliderInt, DataFrame, FigurePlotly."""

import sys
from pathlib import Path

import pandas as pd
import plotly.express as px
import solara

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _data import ROWS, WAVES, series  # noqa: E402

wave = solara.reactive(WAVES[0])
frequency = solara.reactive(3)


@solara.component
def Page():
    solara.Select("Wave", values=WAVES, value=wave, classes=["bench-wave"])
    solara.SliderInt("Frequency", value=frequency, min=1, max=20)
    xs, ys = series(wave.value, frequency.value)
    frame = pd.DataFrame({"x": xs, "y": ys})
    with solara.Column(classes=["bench-chart"]):
        solara.FigurePlotly(px.line(frame, x="x", y="y"))
    with solara.Column(classes=["bench-table"]):
        solara.DataFrame(frame.head(ROWS), items_per_page=ROWS)
