"""A counter behind EnvAuthProvider with metrics and the admin page on (tests/e2e/test_ops.py).

Users and the JWT secret come from the environment; NUMEROUS_TEST_WORKERS_LOG=1 makes the
counter log its clicks (a line per callback, from the session thread)."""

import logging

import numerous.widgets as wi

from numerous.apps import create_app, current_user
from numerous.apps.auth.providers.env_auth import EnvAuthProvider

logger = logging.getLogger("ops_app")


def run_app():
    user = current_user()
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)

    def on_click(event):
        counter.value += 1
        logger.info("%s clicked; counter at %s", user.username if user else "someone",
                    counter.value)

    button = wi.Button(label="Click me", on_click=on_click)
    return {"counter": counter, "button": button}


app = create_app(template="index.html.j2", app_generator=run_app,
                 auth_provider=EnvAuthProvider(), metrics=True)
