"""The counter app as deployed behind a load balancer: users in PostgreSQL shared by every
instance, a JWT secret shared by every instance, and restore_state so that a page moved to
another instance comes back with its values.

NUMEROUS_TEST_DATABASE_URL and NUMEROUS_TEST_TABLE_PREFIX place the users (the test creates
them first); NUMEROUS_JWT_SECRET is the shared secret.
"""

import os

import numerous.widgets as wi

from numerous.apps import create_app, current_user
from numerous.apps.auth.providers.database_auth import DatabaseAuthProvider


def run_app():
    greeting = wi.String(default=f"Hello {current_user().username}", label="User:")
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)

    def on_click(event):
        counter.value += 1

    button = wi.Button(label="Click me", on_click=on_click)
    return {"greeting": greeting, "counter": counter, "button": button}


auth_provider = DatabaseAuthProvider(
    database_url=os.environ["NUMEROUS_TEST_DATABASE_URL"],
    table_prefix=os.environ["NUMEROUS_TEST_TABLE_PREFIX"],
    jwt_secret=os.environ["NUMEROUS_JWT_SECRET"],
)

app = create_app(template="index.html.j2", app_generator=run_app, auth_provider=auth_provider,
                 restore_state=True)
