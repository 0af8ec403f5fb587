"""The admin page: a small Numerous app that watches the others.

It lists the live sessions of the app it belongs to (app, page, user, age, last activity,
thread, pending messages, a memory estimate) and the recent errors, refreshed every second by
a timer; an administrator can end a session (its page shows the session-ended banner) or send
a notice to every page of the app. The page is served at `{base}/numerous/admin` for users
with the admin role only (see `ops_extension`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .._protocol import Notice
from .._runtime import AppRuntime
from .._session import Session
from .._timers import every
from ._logs import ERRORS
from ._metrics import ADMIN_REASON, Metrics, app_label

ADMIN_DIR = Path(__file__).parent / "admin"
ADMIN_TEMPLATE = "admin.html.j2"

_ESM = """
function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
  return td;
}
function noticeForm(model) {
  const form = document.createElement("form");
  form.className = "numerous-admin-notice";
  const input = document.createElement("input");
  input.name = "notice";
  input.placeholder = "A notice for every page of the app";
  const send = document.createElement("button");
  send.type = "submit";
  send.textContent = "Send to every page";
  form.append(input, send);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) model.send({ notice: input.value.trim() });
    input.value = "";
  });
  return form;
}
function render({ model, el }) {
  const table = document.createElement("table");
  table.className = "numerous-admin-sessions";
  const errors = document.createElement("section");
  errors.className = "numerous-admin-errors";
  el.append(noticeForm(model), table, errors);
  const draw = () => {
    table.replaceChildren();
    const head = table.insertRow();
    for (const name of ["Session", "App", "Page", "User", "Age (s)", "Idle (s)", "Thread",
                        "Pending", "Memory (KiB)", ""]) {
      cell(head, name);
    }
    for (const s of model.get("sessions")) {
      const row = table.insertRow();
      row.dataset.session = s.id;
      for (const key of ["id", "app", "page", "user", "age", "idle", "thread", "pending",
                         "memory"]) {
        cell(row, String(s[key]));
      }
      const end = document.createElement("button");
      end.textContent = "End";
      end.addEventListener("click", () => model.send({ end: s.key }));
      cell(row, "").appendChild(end);
    }
    errors.replaceChildren();
    const title = document.createElement("h2");
    title.textContent = "Recent errors";
    errors.appendChild(title);
    for (const e of model.get("errors")) {
      const item = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = `${e.time} ${e.logger}: ${e.message}`;
      const pre = document.createElement("pre");
      pre.textContent = e.traceback;
      item.append(summary, pre);
      errors.appendChild(item);
    }
  };
  model.on("change:sessions", draw);
  model.on("change:errors", draw);
  draw();
}
export default { render };
"""

_CSS = """
.numerous-admin-sessions { border-collapse: collapse; font: 13px system-ui, sans-serif; }
.numerous-admin-sessions td { border-bottom: 1px solid #ddd; padding: 4px 8px; }
.numerous-admin-errors pre { white-space: pre-wrap; font-size: 12px; }
"""


class SessionsTable(anywidget.AnyWidget):
    """The live sessions and recent errors; the browser asks to end one by its key."""

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    _css = traitlets.Unicode(_CSS).tag(sync=True)
    sessions: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    errors: traitlets.List[dict[str, str]] = traitlets.List([]).tag(sync=True)


def admin_builder(runtime: AppRuntime, metrics: Metrics) -> Any:
    """The admin app's `run_app`: its one widget, kept current by a timer."""

    def run_app() -> dict[str, Any]:
        table = SessionsTable()
        keys: dict[str, Session] = {}

        def refresh() -> None:
            listed = list_sessions(runtime, metrics)
            keys.clear()
            keys.update({row["key"]: session for row, session in listed})
            table.sessions = [row for row, _ in listed]
            table.errors = ERRORS.recent()[:20]

        def on_message(_: Any, content: Any, __: Any) -> None:
            if not isinstance(content, dict):
                return
            if content.get("end") in keys:
                keys[content["end"]].end(ADMIN_REASON)
            elif isinstance(content.get("notice"), str):
                notify_pages(runtime, content["notice"])

        table.on_msg(on_message)
        refresh()
        every(1.0, refresh)
        return {"sessions": table}

    return run_app


def list_sessions(runtime: AppRuntime, metrics: Metrics
                  ) -> list[tuple[dict[str, Any], Session]]:
    """A row per live session of `runtime` (read from the admin session's thread)."""
    now = time.time()
    rows = []
    for index, session in enumerate(_sessions(runtime)):
        opened = metrics.opened_at.get(session.id, now)
        active = metrics.active_at.get(session.id, opened)
        rows.append(({
            "key": str(index) + "-" + session.id[-8:],
            "id": session.id[:6], "app": app_label(session.base),
            "page": "connected" if session.connection is not None else "disconnected",
            "user": _user_name(session.user), "age": round(now - opened),
            "idle": round(now - active), "thread": _thread_state(session),
            "pending": len(session.outbox), "memory": _memory_kib(session),
        }, session))
    return rows


def _sessions(runtime: AppRuntime) -> list[Session]:
    for _ in range(3):  # the event loop may add or remove one while we copy
        try:
            return [s for s in runtime.sessions if not s.closed]
        except RuntimeError:
            continue
    return []


def _user_name(user: Any) -> str:
    if user is None:
        return "-"
    return str(getattr(user, "username", None) or user)


def _thread_state(session: Session) -> str:
    worker = session.worker
    if worker.shared:
        return "shared"
    return "running" if worker.alive else ("stopped" if worker.stopped else "starting")


def _memory_kib(session: Session) -> int:
    """A rough estimate: the shallow size of every synced value of the session's widgets."""
    total = 0
    for widget in list(session.widgets.values()):
        for name in list(widget.keys):
            total += sys.getsizeof(getattr(widget, name, None))
    return total // 1024 + 1



NOTICE_LIMIT = 500
"""Characters of a notice at most."""


def notify_pages(runtime: AppRuntime, text: str) -> int:
    """Show `text` on every page of the app (any thread); returns how many pages were told."""
    notice = Notice(type="notice", text=text[:NOTICE_LIMIT])
    sessions = _sessions(runtime)
    for session in sessions:
        session.outbox.put(Notice(type="notice", text=notice["text"]))
    return len(sessions)
