"""A heavier page: 20 numerous-widgets of 13 kinds, a counter among them.

`counter` and `button` behave as in the counter app, so the same load generator drives it.
"""

import json
import sys
from pathlib import Path

import numerous.widgets as wi
from numerous.apps import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _options import app_options  # noqa: E402

# Toast is left out: it renders nothing until shown, so "every widget rendered" never holds.
DEFAULT_CONSTRUCTIBLE = ["Chart", "Chat", "HTMLTemplate", "MapSelector", "ProgressBar",
                         "TimelineChart"]


def run_app():
    widgets = {f"w_{name.lower()}": getattr(wi, name)() for name in DEFAULT_CONSTRUCTIBLE}
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)
    inputs = {
        "number": wi.Number(default=1, label="Number:"),
        "number2": wi.Number(default=2.5, label="Number 2:", step=0.5),
        "slider": wi.Slider(label="Slider:", min_value=0, max_value=10, step=1, default=2),
        "slider2": wi.Slider(label="Slider 2:", min_value=0, max_value=100, step=5, default=50),
        "string": wi.String(label="String:", default="abc"),
        "string2": wi.String(label="String 2:", default="xyz"),
        "checkbox": wi.CheckBox(label="Check:", default=False),
        "checkbox2": wi.CheckBox(label="Check 2:", default=True),
        "dropdown": wi.DropDown(options=["red", "green", "blue"], label="Colour:",
                                default="red"),
        "dropdown2": wi.DropDown(options=["S", "M", "L", "XL"], label="Size:", default="M"),
        "tabs": wi.Tabs(tabs=["One", "Two", "Three"]),
    }
    mirror = wi.Text(value="")

    def show(change=None):
        mirror.value = json.dumps({k: getattr(w, "value", None) for k, w in inputs.items()
                                   if k != "tabs"}, sort_keys=True, default=str)

    for widget in inputs.values():
        if "value" in widget.keys:
            widget.observe(show, names="value")
    show()

    def on_click(event):
        counter.value += 1

    button = wi.Button(label="Click me", on_click=on_click)
    widgets.update(inputs, counter=counter, button=button, mirror=mirror)
    return widgets


app = create_app(template="index.html.j2", app_generator=run_app, **app_options(create_app))
