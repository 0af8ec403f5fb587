"""The admin page (numerous.apps.ops._admin): who may open it, what it lists, what it does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from numerous.apps.ops import ADMIN_REASON, list_sessions, metrics, notify_pages

from ._auth_support import PAGE, config_of, env_provider, login, make_app


def test_only_admins_open_the_admin_page(tmp_path: Path, served: Any) -> None:
    client = served(make_app(tmp_path, env_provider(), metrics=True))
    anonymous = client.get("/numerous/admin/", headers=PAGE)
    assert anonymous.status_code in (302, 303, 307)
    assert "/login?next=" in anonymous.headers["location"]
    login(client, "ann")
    assert client.get("/numerous/admin/", headers=PAGE).status_code == 403
    login(client, "root")
    page = client.get("/numerous/admin/", headers=PAGE)
    assert page.status_code == 200
    assert config_of(page.text)["ws"] == "/numerous/admin/numerous/ws"


def test_the_list_names_the_user_and_a_notice_reaches_every_page(tmp_path: Path,
                                                                 served: Any) -> None:
    client = served(make_app(tmp_path, env_provider(), metrics=True))
    login(client, "ann")
    session_id = config_of(client.get("/", headers=PAGE).text)["session"]
    runtime = client.app.numerous  # type: ignore[attr-defined]
    rows = list_sessions(runtime, metrics())
    assert [(row["id"], row["user"], row["app"]) for row, _ in rows] == [
        (session_id[:6], "ann", "/")]
    assert rows[0][0]["thread"] == "running" and rows[0][0]["memory"] >= 1
    assert notify_pages(runtime, "Maintenance at six" + "!" * 1000) == 1
    session = rows[0][1]
    notices = [m for m, _ in session.outbox.take() if m["type"] == "notice"]
    assert notices == [{"type": "notice", "text": "Maintenance at six" + "!" * 482}]
    session.end(ADMIN_REASON)
    client.get("/numerous/health")  # lets the event loop run the end
    assert session.closed
