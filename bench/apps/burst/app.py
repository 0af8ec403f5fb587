"""Update throughput: one click makes a callback set a value 10 000 times in a row."""

import os
import sys
from pathlib import Path

import numerous.widgets as wi
from numerous.apps import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _options import app_options  # noqa: E402

TIMES = int(os.environ.get("NUMEROUS_BENCH_BURST", "10000"))


def run_app():
    counter = wi.Number(default=0, label="Last value:", fit_to_content=True)

    def on_click(event):
        for i in range(1, TIMES + 1):
            counter.value = i

    button = wi.Button(label="Burst", on_click=on_click)
    return {"counter": counter, "button": button}


app = create_app(template="index.html.j2", app_generator=run_app, **app_options(create_app))
