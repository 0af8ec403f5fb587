"""The dashboard: a dropdown and a slider driving a 1 000-row table and a 10 000-point line
chart, with numerous-widgets (DropDown, Slider, Table, Chart). The peers' versions of it are
under bench/apps/peers/<peer>/dashboard.py; the data comes from the same module."""

import sys
from pathlib import Path

import numerous.widgets as wi
from numerous.apps import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "peers"))
from _data import ROWS, WAVES, rows, series  # noqa: E402
from _options import app_options  # noqa: E402


def chart_data(wave, frequency):
    """Points on a numeric x axis, as the peers' charts have them (10 000 category labels
    made Chart.js lay out a label per point)."""
    xs, ys = series(wave, frequency)
    points = [{"x": round(x, 4), "y": y} for x, y in zip(xs, ys)]
    return {"datasets": [{"label": wave, "data": points, "pointRadius": 0, "borderWidth": 1}]}


def run_app():
    wave = wi.DropDown(options=WAVES, label="Wave:", default=WAVES[0])
    frequency = wi.Slider(label="Frequency:", min_value=1, max_value=20, step=1, default=3)
    chart = wi.Chart(chart_type="line", data=chart_data(WAVES[0], 3),
                     options={"animation": False, "parsing": False,
                              "scales": {"x": {"type": "linear"}}})
    table = wi.Table(data=rows(WAVES[0], 3), page_size=ROWS,
                     columns=[{"accessorKey": "x", "header": "x"},
                              {"accessorKey": "y", "header": "y"}])

    def update(change=None):
        chart.update_data(chart_data(wave.selected_value, int(frequency.value)))
        table.update_data(rows(wave.selected_value, int(frequency.value)))

    wave.observe(update, names="selected_value")  # a DropDown's choice; it has no `value`
    frequency.observe(update, names="value")
    return {"wave": wave, "frequency": frequency, "chart": chart, "table": table}


app = create_app(template="index.html.j2", app_generator=run_app, **app_options(create_app))
