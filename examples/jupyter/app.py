"""A notebook's widgets and plots as an app: ipywidgets controls drive an interactive
matplotlib figure (ipympl), a Plotly FigureWidget, a bqplot chart and an Output with a table.

Run it with `python app.py` (or `numerous run app.py`); docs/widgets.md explains what works.
"""

import bqplot
import ipywidgets as widgets
import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("module://ipympl.backend_nbagg")

import matplotlib.pyplot as plt  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from numerous.apps import create_app  # noqa: E402


def run_app() -> dict:
    frequency = widgets.FloatSlider(value=1.0, min=0.5, max=5.0, step=0.5,
                                    description="Frequency")
    kind = widgets.ToggleButtons(options=["sin", "cos"], description="Wave")
    x = np.linspace(0, 2 * np.pi, 200)

    def wave() -> np.ndarray:
        return (np.sin if kind.value == "sin" else np.cos)(frequency.value * x)

    plt.ioff()
    fig, ax = plt.subplots(figsize=(5, 3))
    (line,) = ax.plot(x, wave())
    ax.set_ylim(-1.1, 1.1)
    fig.canvas.header_visible = False

    plotly = go.FigureWidget(data=[go.Scatter(x=x, y=wave(), name="wave")],
                             layout={"height": 300, "margin": {"t": 20}})
    xs, ys = bqplot.LinearScale(), bqplot.LinearScale(min=-1.1, max=1.1)
    bq_line = bqplot.Lines(x=x, y=wave(), scales={"x": xs, "y": ys})
    chart = bqplot.Figure(marks=[bq_line], axes=[bqplot.Axis(scale=xs),
                                               bqplot.Axis(scale=ys, orientation="vertical")],
                          layout=widgets.Layout(height="300px"))
    table = widgets.Output()

    def update(*_: object) -> None:
        y = wave()
        line.set_ydata(y)
        fig.canvas.draw_idle()
        plotly.data[0].y = y
        bq_line.y = y
        table.clear_output()
        frame = pd.DataFrame({"x": x[::40].round(2), kind.value: y[::40].round(3)})
        table.append_display_data(frame)

    frequency.observe(update, "value")
    kind.observe(update, "value")
    update()
    return {
        "controls": widgets.HBox([frequency, kind]),
        "matplotlib": fig.canvas,
        "plotly": plotly,
        "bqplot": chart,
        "table": table,
    }


app = create_app(template="index.html.j2", app_generator=run_app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
