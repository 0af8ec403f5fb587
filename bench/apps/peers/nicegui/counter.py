"""The counter, as NiceGUI's docs write it: a page function (one client per visit)."""

import os

from nicegui import ui


@ui.page("/")
def index():
    count = 0
    button = ui.button("Click me").classes("bench-button")
    label = ui.label("Count: 0").classes("bench-counter")

    def increment():
        nonlocal count
        count += 1
        label.set_text(f"Count: {count}")

    button.on_click(increment)


# As deployed: no reloader, no browser. The hot-reload figure sets BENCH_RELOAD=1, as in
# development.
ui.run(host="127.0.0.1", port=int(os.environ["BENCH_PORT"]),
       reload=os.environ.get("BENCH_RELOAD") == "1", show=False)
