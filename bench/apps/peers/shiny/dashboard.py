"""The dashboard in Shiny: input_select and input_slider, render.data_frame, render.plot."""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from shiny import App, reactive, render, ui

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _data import ROWS, WAVES, series  # noqa: E402

app_ui = ui.page_fixed(
    ui.input_select("wave", "Wave", WAVES),
    ui.input_slider("frequency", "Frequency", 1, 20, 3),
    ui.output_plot("chart"),
    ui.output_data_frame("table"),
)


def server(input, output, session):
    @reactive.calc
    def frame():
        xs, ys = series(input.wave(), input.frequency())
        return pd.DataFrame({"x": xs, "y": ys})

    @render.plot
    def chart():
        fig, ax = plt.subplots()
        ax.plot(frame()["x"], frame()["y"])
        return fig

    @render.data_frame
    def table():
        return render.DataGrid(frame().head(ROWS))


app = App(app_ui, server)
