"""An app that allows a page to bring its values into a new session (restore_state=True)."""

import numerous.widgets as wi

from numerous.apps import create_app


def run_app():
    counter = wi.Number(default=0, label="Counter:")
    name = wi.String(label="Name:", default="")
    button = wi.Button(label="Add", on_click=lambda event: setattr(counter, "value",
                                                                   counter.value + 1))
    return {"counter": counter, "name": name, "button": button}


app = create_app(template="index.html.j2", app_generator=run_app, restore_state=True)
