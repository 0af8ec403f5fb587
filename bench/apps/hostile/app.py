"""The hostile-load benchmark's app (bench/hostile.py): the counter, with the agent API on, and,
as the scenario asks, sign-in (NUMEROUS_BENCH_AUTH=1) or shared widgets (NUMEROUS_BENCH_SHARED=1).
Served by `numerous run`, as in production."""

import os

import numerous.widgets as wi
from numerous.apps import create_app
from numerous.apps.auth.providers.env_auth import EnvAuthProvider

AUTH = os.environ.get("NUMEROUS_BENCH_AUTH") == "1"


def run_app():
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)

    def on_click(event):
        counter.value += 1

    button = wi.Button(label="Click me", on_click=on_click)
    return {"counter": counter, "button": button}


app = create_app(template="index.html.j2", app_generator=run_app, agent_api=True,
                 auth_provider=EnvAuthProvider() if AUTH else None,
                 share_widgets=os.environ.get("NUMEROUS_BENCH_SHARED") == "1")
