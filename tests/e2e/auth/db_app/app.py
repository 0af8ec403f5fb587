"""The seed's counter app behind DatabaseAuthProvider on a SQLite file.

NUMEROUS_TEST_DATABASE_URL names the database (the test creates its users first);
NUMEROUS_TEST_ACCESS_SECONDS shortens the access token.
"""

import os

import numerous.widgets as wi

from numerous.apps import create_app, current_user
from numerous.apps.auth.providers.database_auth import DatabaseAuthProvider


def run_app():
    user = current_user()
    greeting = wi.String(default=f"Hello {user.username}", label="User:")
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)

    def on_click(event):
        counter.value += 1

    button = wi.Button(label="Click me", on_click=on_click)
    return {"greeting": greeting, "counter": counter, "button": button}


auth_provider = DatabaseAuthProvider(
    database_url=os.environ["NUMEROUS_TEST_DATABASE_URL"],
    jwt_secret=os.environ["NUMEROUS_JWT_SECRET"],
    access_token_lifetime=float(os.environ.get("NUMEROUS_TEST_ACCESS_SECONDS", "900")),
)

app = create_app(template="index.html.j2", dev=False, app_generator=run_app,
                 auth_provider=auth_provider)
