"""Every numerous-widgets widget that constructs with default arguments, plus the common inputs.

`mirror` shows what the server holds for the inputs; the `set_values` button makes the server
change them all, so a test sees values travel both ways.
"""

import json

import numerous.widgets as wi

from numerous.apps import create_app

DEFAULT_CONSTRUCTIBLE = ["Chart", "Chat", "HTMLTemplate", "LoadSaveWidget", "MapSelector",
                         "ProgressBar", "Task", "Text", "TimelineChart", "Timer", "Toast",
                         "URLParams"]


def run_app():
    widgets = {f"default_{name.lower()}": getattr(wi, name)() for name in DEFAULT_CONSTRUCTIBLE}
    number = wi.Number(default=1, label="Number:")
    slider = wi.Slider(label="Slider:", min_value=0, max_value=10, step=1, default=2)
    string = wi.String(label="String:", default="abc")
    checkbox = wi.CheckBox(label="Check:", default=False)
    dropdown = wi.DropDown(options=["red", "green", "blue"], label="Colour:", default="red")
    tabs = wi.Tabs(tabs=["One", "Two", "Three"])
    mirror = wi.Text(value="")

    def values():
        return {"number": number.value, "slider": slider.value, "string": string.value,
                "checkbox": checkbox.value, "dropdown": dropdown.selected_value,
                "tabs": tabs.active_tab}

    def show(change=None):
        mirror.value = json.dumps(values(), sort_keys=True)

    def set_values(event):
        number.value = 42
        slider.value = 7
        string.value = "from server"
        checkbox.value = True
        dropdown.selected_key = "blue"
        dropdown.selected_value = "blue"
        tabs.active_tab = "Three"

    for widget, name in [(number, "value"), (slider, "value"), (string, "value"),
                         (checkbox, "value"), (dropdown, "selected_value"), (tabs, "active_tab")]:
        widget.observe(show, names=name)
    show()
    set_button = wi.Button(label="Set values", on_click=set_values)
    widgets.update(number=number, slider=slider, string=string, checkbox=checkbox,
                   dropdown=dropdown, tabs=tabs, mirror=mirror, set_values=set_button)
    return widgets


app = create_app(template="index.html.j2", app_generator=run_app)
