"""create_app(share_widgets=True): one set of widgets that every page sees and drives."""

from __future__ import annotations

import threading
from typing import Any

import anywidget
import traitlets

from numerous.apps._session import current_session, current_user
from numerous.apps._sessions import SessionManager
from numerous.apps._writes import SharedWrites

from ._support import OWNER, async_wait_until, join

OTHER = "p" * 32


class Counter(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)
    clicks = traitlets.Int(0).tag(sync=True)
    limited = traitlets.Int(0).tag(sync=True)


built: list[str] = []
callback_threads: set[str] = set()
callback_users: list[Any] = []


def build() -> dict[str, Any]:
    built.append(threading.current_thread().name)
    assert current_session() is None, "run_app() runs once, for nobody in particular"
    counter, total = Counter(), Counter()

    def clicked(change: dict[str, Any]) -> None:
        callback_threads.add(threading.current_thread().name)
        callback_users.append(current_user())
        if change["new"] == 99:
            raise RuntimeError("ninety-nine")
        if change["new"] == 13:
            page = current_session()
            assert page is not None
            page.end("Unlucky.")  # this visitor's page only
            return
        total.value += 1
    counter.observe(clicked, "clicks")
    return {"counter": counter, "total": total}


async def open_pages(manager: SessionManager, connect: Any, owners: list[str]
                     ) -> tuple[list[Any], list[Any], dict[str, str]]:
    pages, clients = [], []
    ready: dict[str, Any] = {}
    users = ["first user", "second user", "third user"]
    for owner, user in zip(owners, users):
        session, done = manager.create(build, owner=owner, base="", shared=True, user=user)
        await done
        client = await connect(manager, session.id, owner)
        _, ready = await client.snapshot()
        pages.append(session)
        clients.append(client)
    return pages, clients, ready["widgets"]


async def test_every_page_sees_the_same_widgets_built_once(make_manager: Any,
                                                           connect: Any) -> None:
    built.clear()
    manager = make_manager()
    pages, clients, ids = await open_pages(manager, connect, [OWNER, OTHER, OWNER])
    assert len(built) == 1, "the widgets are built once, not per page"
    assert len({page.id for page in pages}) == 3, "each page still has its own session id"
    assert pages[0].widgets is pages[1].widgets

    first, second, third = clients
    seq = await first.update(ids["counter"], {"value": 7})
    for other in (second, third):
        seen = await other.until(lambda m: m["type"] == "update" and m["id"] == ids["counter"])
        assert seen["state"] == {"value": 7}
        assert seen["ack"] == 0, "an acknowledgement is per page: the others sent nothing"
    assert not [m for m in await first.quiet() if m.get("id") == ids["counter"]], \
        "the page that made the change is not sent its own value back"

    # A callback runs once, as a job of the shared worker, and what it changes reaches every
    # page.
    await second.update(ids["counter"], {"clicks": 1})
    for client in clients:
        seen = await client.until(lambda m: m["type"] == "update" and m["id"] == ids["total"])
        assert seen["state"] == {"value": 1}
    assert pages[0].widgets["total"].value == 1
    assert all(name.startswith("numerous-session-") for name in callback_threads | set(built))
    assert callback_users[-1] == "second user", "current_user() is whoever sent the change"
    assert seq == 1


async def test_errors_go_to_the_page_that_caused_them(make_manager: Any, connect: Any) -> None:
    manager = make_manager()
    _, (first, second), ids = await open_pages(manager, connect, [OWNER, OTHER])
    await first.update(ids["counter"], {"value": "not a number"})
    error = await first.until("error")
    assert error["code"] == "invalid_value"
    await first.update(ids["counter"], {"clicks": 99})
    assert (await first.until("error"))["code"] == "callback_error"
    assert not [m for m in await second.quiet(0.1) if m["type"] == "error"]

    # The shared widgets keep working for everyone.
    await second.update(ids["counter"], {"value": 3})
    seen = await first.until(lambda m: m["type"] == "update" and m["id"] == ids["counter"])
    assert seen["state"]["value"] == 3


async def test_closing_a_page_keeps_the_widgets_for_the_others(make_manager: Any,
                                                              connect: Any) -> None:
    manager = make_manager()
    pages, (first, second), ids = await open_pages(manager, connect, [OWNER, OTHER])
    hub = manager.shared
    assert hub is not None and len(hub.pages) == 2
    manager.close(pages[0])
    assert await join(pages[0])
    assert hub.pages == (pages[1],)
    await second.update(ids["counter"], {"value": 5})
    await async_wait_until(lambda: pages[1].widgets["counter"].value == 5)
    assert hub.alive, "the shared thread lives on"

    threads = hub
    for session in manager.close_all():
        assert await join(session)
    assert not threads.alive, "shutting down ends the shared thread too"


async def test_a_failed_build_is_tried_again_by_the_next_visitor(make_manager: Any) -> None:
    manager = make_manager()
    attempts: list[int] = []

    def flaky() -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database not ready")
        return {"counter": Counter()}

    session, done = manager.create(flaky, owner=OWNER, base="", shared=True)
    try:
        await done
        raise AssertionError("the build should have failed")
    except Exception as exc:  # noqa: BLE001
        assert "database not ready" in str(exc)
    manager.close(session)
    session, done = manager.create(flaky, owner=OWNER, base="", shared=True)
    assert set(await done) == {"counter"}
    assert len(attempts) == 2


async def test_a_callback_ends_the_senders_page_not_the_shared_widgets(make_manager: Any,
                                                                      connect: Any) -> None:
    manager = make_manager()
    pages, (first, second), ids = await open_pages(manager, connect, [OWNER, OTHER])
    await first.update(ids["counter"], {"clicks": 13})
    lost = await first.until("session_lost")
    assert lost["reason"] == "Unlucky."
    await async_wait_until(lambda: pages[0].closed)
    assert manager.shared is not None and manager.shared.pages == (pages[1],)
    await second.update(ids["counter"], {"clicks": 1})
    seen = await second.until(lambda m: m["type"] == "update" and m["id"] == ids["total"])
    assert seen["state"] == {"value": 1}, "the shared widgets still work for the others"
    assert manager.shared.alive, "ending a page never ends the shared widgets' thread"


def _worker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("numerous-")]


async def test_pages_of_shared_widgets_have_no_thread_of_their_own(make_manager: Any,
                                                                   connect: Any) -> None:
    manager = make_manager()
    pages, _, _ = await open_pages(manager, connect, [OWNER])
    before = _worker_threads()
    more, _, _ = await open_pages(manager, connect, [OTHER, OWNER])
    assert len(_worker_threads()) <= len(before), "more pages, no more threads"
    assert all(page.worker is manager.shared for page in pages + more)
    assert not any(page.alive for page in pages + more)
    assert manager.shared is not None and manager.shared.alive


class Card(anywidget.AnyWidget):
    """A widget whose `icon` its front end renders as HTML (like a Button's icon_svg)."""

    _esm = "export default { render() {} }"
    icon = traitlets.Unicode("").tag(sync=True)
    items = traitlets.List(traitlets.Unicode(), default_value=[]).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)


def cards() -> dict[str, Any]:
    return {"card": Card(), "art": Card()}


async def _shared_pair(manager: SessionManager, connect: Any) -> tuple[Any, Any, dict[str, Any]]:
    clients = []
    for owner in (OWNER, OTHER):
        session, done = manager.create(cards, owner=owner, base="", shared=True)
        widgets = await done
        client = await connect(manager, session.id, owner)
        await client.snapshot()
        clients.append(client)
    return clients[0], clients[1], widgets


async def test_visitors_may_not_write_markup_into_shared_widgets(make_manager: Any,
                                                                 connect: Any) -> None:
    manager = make_manager()
    first, second, widgets = await _shared_pair(manager, connect)
    card = widgets["card"]
    planted = '<meta http-equiv="refresh" content="0;url=https://evil.example">'
    for state in ({"icon": planted}, {"items": ["fine", planted]}):
        await first.update(card.model_id, state)
        error = await first.until("error")
        assert error["code"] == "invalid_value" and "markup" in error["message"]
    assert card.icon == "" and card.items == []
    await first.update(card.model_id, {"title": "a < b"})  # any '<' is refused, not parsed
    await first.until("error")
    await first.update(card.model_id, {"title": "plain text"})
    seen = await second.until(lambda m: m["type"] == "update" and m["state"].get("title"))
    assert seen["state"] == {"title": "plain text"}
    assert card.icon == ""  # nothing planted reached the other visitor


async def test_the_app_allows_markup_and_limits_traits_per_widget(make_manager: Any,
                                                                  connect: Any) -> None:
    writes = SharedWrites(writable={"card": ["icon", "title"]}, markup={"card": ["icon"]})
    manager = make_manager(writes=writes)
    first, _, widgets = await _shared_pair(manager, connect)
    await first.update(widgets["card"].model_id, {"icon": "<svg></svg>"})
    await async_wait_until(lambda: widgets["card"].icon == "<svg></svg>")
    await first.update(widgets["card"].model_id, {"items": ["x"]})
    assert "items" in (await first.until("error"))["message"]
    await first.update(widgets["art"].model_id, {"title": "x"})
    assert (await first.until("error"))["code"] == "invalid_value"
    assert widgets["art"].title == "" and widgets["card"].items == []
