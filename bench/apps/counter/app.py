"""The seed counter app (tests/e2e/counter), as served to both frameworks by the bench."""

import sys
from pathlib import Path

import numerous.widgets as wi
from numerous.apps import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _options import app_options  # noqa: E402


def run_app():
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)

    def on_click(event):
        counter.value += 1

    button = wi.Button(label="Click me", on_click=on_click)
    return {"counter": counter, "button": button}


app = create_app(template="index.html.j2", app_generator=run_app, **app_options(create_app))
