"""The seed's counter app behind EnvAuthProvider (users and secret from the environment).

NUMEROUS_TEST_ACCESS_SECONDS shortens the access token so a test can outlive a few of them.
"""

import os

import numerous.widgets as wi

from numerous.apps import create_app, current_user
from numerous.apps.auth.providers.env_auth import EnvAuthProvider


def run_app():
    user = current_user()
    greeting = wi.String(default=f"Hello {user.username}", label="User:")
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)

    def on_click(event):
        counter.value += 1

    button = wi.Button(label="Click me", on_click=on_click)
    return {"greeting": greeting, "counter": counter, "button": button}


auth_provider = EnvAuthProvider(
    access_token_lifetime=float(os.environ.get("NUMEROUS_TEST_ACCESS_SECONDS", "900")))

app = create_app(template="index.html.j2", dev=True, app_generator=run_app,
                 auth_provider=auth_provider)
