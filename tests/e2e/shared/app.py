"""A shared board: every visitor sees and drives the same widgets (share_widgets=True)."""

import numerous.widgets as wi
from numerous.apps import create_app

counter = wi.Number(default=0, label="Counter:", fit_to_content=True)


def on_click(event):
    counter.value += 1


button = wi.Button(label="Click me", on_click=on_click)

app = create_app(template="index.html.j2", widgets={"counter": counter, "button": button},
                 share_widgets=True)
