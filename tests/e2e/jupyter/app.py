"""Classic Jupyter widgets as a notebook user writes them: ipywidgets' controls in layout
boxes, an observer that drives another widget, and an `Output` with a print and a table."""

import anywidget
import ipywidgets as widgets
import pandas as pd
import traitlets

from numerous.apps import create_app


class Styled(anywidget.AnyWidget):
    """An anywidget whose stylesheet text opens with a comment (it is not a URL)."""

    _esm = """
    export default {
      render({ model, el }) {
        const span = document.createElement("span");
        span.className = "styled-label";
        const show = () => { span.textContent = model.get("label"); };
        show();
        model.on("change:label", show);
        el.append(span);
      },
    };
    """
    _css = "/* Styled: a teal label */\n.styled-label { color: rgb(0, 128, 128); }"
    label = traitlets.Unicode("styled").tag(sync=True)


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
        with out:
            print(f"pressed {presses.value}")

    slider.observe(on_slide, "value")
    text.observe(on_text, "value")
    button.on_click(on_press)
    with out:
        print("printed from Python")
    out.append_display_data(pd.DataFrame({"city": ["Oslo", "Lima"], "people": [709, 10092]}))
    tabs = widgets.Tab(children=[widgets.Label("first tab"), widgets.Label("second tab")],
                       titles=["One", "Two"])
    inner = Styled(label="inside a box")
    mixed_slider = widgets.IntSlider(value=1, description="Mixed")
    mixed_slider.observe(lambda change: setattr(inner, "label", f"slid to {change['new']}"),
                         "value")
    return {
        "styled": Styled(),
        "mixed": widgets.HBox([mixed_slider, inner]),
        "controls": widgets.VBox([widgets.HBox([slider, label]), widgets.HBox([text, echo]),
                                  widgets.HBox([check, drop]), widgets.HBox([button, presses])]),
        "tabs": tabs,
        "out": out,
    }


app = create_app(template="index.html.j2", app_generator=run_app)
