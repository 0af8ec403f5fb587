"""The counter, as Panel's docs write it: a Button's on_click updating a Markdown pane."""

import panel as pn

pn.extension()

button = pn.widgets.Button(name="Click me", css_classes=["bench-button"])
counter = pn.pane.Markdown("Count: 0", css_classes=["bench-counter"])


def increment(event):
    counter.object = f"Count: {button.clicks}"


button.on_click(increment)
pn.Column(button, counter).servable()
