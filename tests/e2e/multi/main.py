"""Two apps under one server, a shared theme and shared static files."""

import numerous.widgets as wi

from numerous.apps import combine_apps, create_app, current_session


def run_counter():
    counter = wi.Number(default=0, label="Count:")
    button = wi.Button(label="Add", on_click=lambda event: setattr(counter, "value",
                                                                   counter.value + 1))

    def end(event):
        current_session().end("The app ended this session.")

    return {"counter": counter, "button": button, "end": wi.Button(label="End", on_click=end)}


app1 = create_app(template="app1/index.html.j2", path_prefix="/app1", app_generator=run_counter)
app2 = create_app(template="index.html.j2", path_prefix="/app2", app_generator=run_counter,
                  base_dir=__import__("pathlib").Path(__file__).parent / "app2",
                  theme_css=":root { --numerous-primary: rgb(0, 128, 0); }")

main = combine_apps(
    apps={"/app1": app1, "/app2": app2},
    shared_static_dir=__import__("pathlib").Path(__file__).parent / "shared",
    shared_theme_css=":root { --numerous-primary: rgb(200, 0, 0); }",
    title="Two counters",
)
