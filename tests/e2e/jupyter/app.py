"""Classic Jupyter widgets as a notebook user writes them: ipywidgets' controls in layout
boxes, an observer that drives another widget, and an `Output` with a print and a table."""

import ipywidgets as widgets
import pandas as pd

from numerous.apps import create_app


def run_app() -> dict:
    slider = widgets.IntSlider(value=3, min=0, max=10, description="Count")
    label = widgets.Label(value="count: 3")
    text = widgets.Text(value="hello", description="Text")
    echo = widgets.HTML(value="<b>hello</b>")
    check = widgets.Checkbox(value=False, description="Check")
    drop = widgets.Dropdown(options=["a", "b", "c"], value="a", description="Pick")
    button = widgets.Button(description="Press", layout=widgets.Layout(width="120px"))
    presses = widgets.IntText(value=0, description="Presses")
    out = widgets.Output()

    def on_slide(change: dict) -> None:
        label.value = f"count: {change['new']}"

    def on_text(change: dict) -> None:
        echo.value = f"<b>{change['new']}</b>"

    def on_press(_: object) -> None:
        presses.value += 1
        out.append_stdout(f"pressed {presses.value}\n")

    slider.observe(on_slide, "value")
    text.observe(on_text, "value")
    button.on_click(on_press)
    out.append_stdout("printed from Python\n")
    out.append_display_data(pd.DataFrame({"city": ["Oslo", "Lima"], "people": [709, 10092]}))
    tabs = widgets.Tab(children=[widgets.Label("first tab"), widgets.Label("second tab")],
                       titles=["One", "Two"])
    return {
        "controls": widgets.VBox([widgets.HBox([slider, label]), widgets.HBox([text, echo]),
                                  widgets.HBox([check, drop]), widgets.HBox([button, presses])]),
        "tabs": tabs,
        "out": out,
    }


app = create_app(template="index.html.j2", app_generator=run_app)
