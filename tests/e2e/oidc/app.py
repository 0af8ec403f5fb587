"""The counter app behind OIDCAuthProvider, with a password user beside it (one login page,
both ways in). The OpenID provider, client and JWT secret come from the environment
(NUMEROUS_OIDC_*, NUMEROUS_JWT_SECRET, NUMEROUS_AUTH_USERS), as a deployment sets them.

NUMEROUS_TEST_ACCESS_SECONDS shortens the access token so a test can outlive a few of them;
NUMEROUS_TEST_DATABASE_URL (and NUMEROUS_TEST_TABLE_PREFIX) keeps the users and their tokens
in a database shared by several instances.
"""

import os

import numerous.widgets as wi

from numerous.apps import create_app, current_user
from numerous.apps.auth.providers.database_auth import DatabaseAuthProvider
from numerous.apps.auth.providers.env_auth import EnvAuthProvider
from numerous.apps.auth.providers.oidc_auth import ClaimMapping, OIDCAuthProvider


def run_app():
    user = current_user()
    name = user.metadata.get("display_name") or user.username
    greeting = wi.String(default=f"Hello {name}", label="User:")
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)

    def on_click(event):
        counter.value += 1

    button = wi.Button(label="Click me", on_click=on_click)
    return {"greeting": greeting, "counter": counter, "button": button}


database = os.environ.get("NUMEROUS_TEST_DATABASE_URL")
user_store = DatabaseAuthProvider(
    database, table_prefix=os.environ["NUMEROUS_TEST_TABLE_PREFIX"]) if database else None

auth_provider = OIDCAuthProvider(
    user_store=user_store,
    label="Acme ID", scopes="openid email profile groups",
    claims=ClaimMapping(admin_roles=("admins",)),
    password_provider=EnvAuthProvider() if os.environ.get("NUMEROUS_AUTH_USERS") else None,
    access_token_lifetime=float(os.environ.get("NUMEROUS_TEST_ACCESS_SECONDS", "900")))

app = create_app(template="index.html.j2", app_generator=run_app, auth_provider=auth_provider,
                 dev=True)
