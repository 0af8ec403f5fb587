"""A slow callback and a fast one: the slow one must delay only its own session."""

import time

import numerous.widgets as wi

from numerous.apps import create_app


def run_app():
    status = wi.Text(value="idle")
    counter = wi.Number(default=0, label="Count:")

    def slow(event):
        status.value = "working"
        time.sleep(2)
        status.value = "done"

    def fast(event):
        counter.value += 1

    return {"status": status, "counter": counter,
            "slow": wi.Button(label="Slow", on_click=slow),
            "fast": wi.Button(label="Fast", on_click=fast)}


app = create_app(template="index.html.j2", app_generator=run_app)
