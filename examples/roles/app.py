"""Sign-in with roles: viewers read the sales targets, editors change them, and users with
neither role are not let in at all.

    cp .env.example .env    # three demo users; change their passwords
    numerous dev app.py     # serves http://127.0.0.1:8000, behind a sign-in page
    python -m pytest        # its tests, in-process, with users of their own

The users come from NUMEROUS_AUTH_USERS (JSON), the token secret from NUMEROUS_JWT_SECRET;
both are read from `.env` when it exists. See docs/auth.md.
"""

import threading
from pathlib import Path

import numerous.widgets as wi
from dotenv import load_dotenv

from numerous.apps import create_app, current_user
from numerous.apps.auth.providers.env_auth import EnvAuthProvider

load_dotenv(Path(__file__).with_name(".env"))  # never overrides a variable already set

REGIONS = ["North", "South", "East", "West"]
TARGETS = dict.fromkeys(REGIONS, 100)  # stands in for a database every session reads
TARGETS_LOCK = threading.Lock()


def rows() -> list[dict]:
    with TARGETS_LOCK:
        return [{"region": region, "target": target} for region, target in TARGETS.items()]


def run_app():
    user = current_user()  # who opened this page; the session is bound to them
    may_edit = user.has_role("editor") or user.is_admin
    roles = ", ".join(user.roles) or "none"
    who = wi.Text(value=f"Signed in as {user.username} (roles: {roles})")
    table = wi.Table(data=rows(), columns=[{"accessorKey": "region", "header": "Region"},
                                           {"accessorKey": "target", "header": "Target"}])
    region = wi.DropDown(options=REGIONS, label="Region:", default="North")
    target = wi.Number(label="New target:", default=100, start=0, stop=100_000, step=10)
    save = wi.Button(label="Save target", variant="primary", disabled=not may_edit)
    status = wi.Text(value="" if may_edit else "Read-only: only editors change targets.")

    def on_save(event):
        # Checked here, on the server: a disabled button in the page is only a hint.
        if not may_edit:
            status.value = "Refused: only editors change targets."
            return
        with TARGETS_LOCK:
            TARGETS[region.selected_value] = int(target.value)
        table.data = rows()
        status.value = f"Saved: {region.selected_value} now aims at {int(target.value)}."

    save.on_click = on_save
    return {"who": who, "table": table, "region": region, "target": target, "save": save,
            "status": status}


# Only users with the role viewer or editor (and admins) may open the app.
auth_provider = EnvAuthProvider().require(roles=["viewer", "editor"])

app = create_app(template="index.html.j2", dev=True, app_generator=run_app,
                 auth_provider=auth_provider)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
