"""The counter, as Shiny's docs write it: an action button and a text output."""

from shiny import App, render, ui

app_ui = ui.page_fixed(
    ui.input_action_button("button", "Click me"),
    ui.output_text("counter"),
)


def server(input, output, session):
    @render.text
    def counter():
        return f"Count: {input.button()}"


app = App(app_ui, server)
