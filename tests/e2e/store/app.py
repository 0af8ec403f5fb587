"""A counter and a note kept in the session store (tests/e2e/test_store.py).

`numerous run --store URL` (or NUMEROUS_STORE) names the Redis; NUMEROUS_STORE_PREFIX keeps each
test's keys apart. NUMEROUS_TEST_SHARED=1 shares the widgets among all visitors (and, through
the store, among all instances); with NUMEROUS_AUTH_USERS set, visitors sign in and a user's
new session resumes from their last values.
"""

import os

import numerous.widgets as wi

from numerous.apps import create_app

auth_provider = None
if os.environ.get("NUMEROUS_AUTH_USERS"):
    from numerous.apps.auth.providers.env_auth import EnvAuthProvider

    auth_provider = EnvAuthProvider()


def run_app():
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)
    note = wi.String(default="", label="Note:")

    def on_click(event):
        counter.value += 1

    button = wi.Button(label="Click me", on_click=on_click)
    return {"counter": counter, "note": note, "button": button}


app = create_app(template="index.html.j2", app_generator=run_app, auth_provider=auth_provider,
                 share_widgets=os.environ.get("NUMEROUS_TEST_SHARED") == "1",
                 resume_users=auth_provider is not None)
