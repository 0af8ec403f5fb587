"""The counter, as Solara's docs write it: a reactive variable (one per browser session)."""

import solara

count = solara.reactive(0)


@solara.component
def Page():
    solara.Button("Click me", on_click=lambda: count.set(count.value + 1),
                  classes=["bench-button"])
    solara.Text(f"Count: {count.value}", classes=["bench-counter"])
