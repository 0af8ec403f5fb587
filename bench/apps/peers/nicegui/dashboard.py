"""The dashboard in NiceGUI: ui.select and ui.slider, ui.table, ui.echart."""

import os
import sys
from pathlib import Path

from nicegui import ui

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _data import WAVES, rows, series  # noqa: E402


@ui.page("/")
def index():
    wave = ui.select(WAVES, value=WAVES[0], label="Wave").classes("bench-wave")
    frequency = ui.slider(min=1, max=20, value=3)
    chart = ui.echart({"xAxis": {"type": "value"}, "yAxis": {"type": "value"},
                       "series": [{"type": "line", "showSymbol": False, "data": []}]}
                      ).classes("bench-chart")
    table = ui.table(rows=[], columns=[{"name": "x", "label": "x", "field": "x"},
                                       {"name": "y", "label": "y", "field": "y"}],
                     pagination=0).classes("bench-table")

    def update():
        xs, ys = series(wave.value, int(frequency.value))
        chart.options["series"][0]["data"] = list(zip(xs, ys))
        chart.update()
        table.rows = rows(wave.value, int(frequency.value))

    wave.on_value_change(update)
    frequency.on_value_change(update)
    update()


# As deployed: no reloader, no browser. The hot-reload figure sets BENCH_RELOAD=1, as in
# development.
ui.run(host="127.0.0.1", port=int(os.environ["BENCH_PORT"]),
       reload=os.environ.get("BENCH_RELOAD") == "1", show=False)
