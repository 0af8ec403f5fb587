"""The plots people reach for first, as widgets: interactive matplotlib (ipympl), bqplot,
Plotly's FigureWidget, and a matplotlib figure redrawn into an image."""

import io

import bqplot
import ipywidgets as widgets
import matplotlib

matplotlib.use("module://ipympl.backend_nbagg")

import matplotlib.pyplot as plt  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from numerous.apps import create_app  # noqa: E402


def mpl_interactive() -> tuple[widgets.Widget, widgets.Button]:
    plt.ioff()
    fig, ax = plt.subplots(figsize=(4, 3))
    (line,) = ax.plot([0, 1, 2], [0, 1, 4])
    redraw = widgets.Button(description="Redraw")

    def on_redraw(_: object) -> None:
        line.set_ydata([4, 1, 0])
        ax.set_title("redrawn")
        fig.canvas.draw_idle()

    redraw.on_click(on_redraw)
    return fig.canvas, redraw


def mpl_static() -> tuple[widgets.Image, widgets.IntSlider]:
    """A figure drawn to PNG and shown as an Image widget, redrawn when the slider moves."""
    power = widgets.IntSlider(value=1, min=1, max=4, description="Power")
    image = widgets.Image(format="png")

    def draw(*_: object) -> None:
        fig = Figure(figsize=(4, 3))
        ax = fig.subplots()
        ax.plot(range(10), [x ** power.value for x in range(10)])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        image.value = buffer.getvalue()

    draw()
    power.observe(draw, "value")
    return image, power


def run_app() -> dict:
    canvas, redraw = mpl_interactive()
    image, power = mpl_static()
    x = bqplot.LinearScale()
    y = bqplot.LinearScale()
    bars = bqplot.Bars(x=[1, 2, 3], y=[3, 1, 2], scales={"x": x, "y": y})
    chart = bqplot.Figure(marks=[bars], axes=[bqplot.Axis(scale=x), bqplot.Axis(
        scale=y, orientation="vertical")], title="bqplot")
    plotly = go.FigureWidget(data=[go.Scatter(x=[1, 2, 3], y=[1, 3, 2], name="trace")])
    grow = widgets.Button(description="Grow")

    def on_grow(_: object) -> None:
        plotly.data[0].y = [3, 3, 3]
        plotly.layout.title = "updated"

    grow.on_click(on_grow)
    return {"mpl": canvas, "redraw": redraw, "image": image, "power": power, "bqplot": chart,
            "plotly": plotly, "grow": grow}


app = create_app(template="index.html.j2", app_generator=run_app)
