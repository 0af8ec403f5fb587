"""restore_state on the server: values offered in a hello go back into the new session once."""

from __future__ import annotations

import asyncio
from typing import Any

import anywidget
import pytest
import traitlets
from ipywidgets import Widget, widget_serialization

from numerous.apps import _comm
from numerous.apps._connection import memory_pair
from numerous.apps._protocol import PROTOCOL_VERSION, decode, encode
from numerous.apps._sessions import SessionLimits, SessionManager
from numerous.apps._socket import serve_connection

from ._support import Field

OWNER = "s" * 32


@pytest.fixture(autouse=True)
def _routed() -> None:
    _comm.install()


async def _snapshot(manager: SessionManager, session_id: str, restore: Any) -> dict[str, Any]:
    client, server = memory_pair()
    task = asyncio.ensure_future(serve_connection(server, manager, OWNER))
    await client.send(encode({"type": "hello", "protocol": PROTOCOL_VERSION,
                              "session": session_id, "restore": restore}))
    states = {}
    while (message := decode(await client.receive())[0])["type"] != "ready":
        states[message["id"]] = message["state"]
    await client.close()
    await task
    return {key: states[model_id] for key, model_id in message["widgets"].items()}


@pytest.mark.parametrize("restorable", [True, False])
async def test_offered_values_are_restored_once_and_only_where_allowed(restorable: bool) -> None:
    manager = SessionManager(SessionLimits())
    session, built = manager.create(lambda: {"f": Field()}, owner=OWNER, base="")
    await built
    session.restorable = restorable
    Field.changes = 0
    offer = {"f": {"value": "kept", "count": "not a number", "_esm": "evil()"},
             "ghost": {"value": 1}}
    try:
        state = (await _snapshot(manager, session.id, offer))["f"]
        if restorable:
            assert state["value"] == "kept"  # restored
            assert state["count"] == 0  # refused by the trait, ignored
            assert state["_esm"] != "evil()"  # private traits are never restored
            assert Field.changes == 0  # no callbacks ran
        else:
            assert state["value"] == ""
        # A second connection's offer is ignored: only a page that lost its session offers.
        again = (await _snapshot(manager, session.id, {"f": {"value": "later"}}))["f"]
        assert again["value"] == ("kept" if restorable else "")
    finally:
        for closed in manager.close_all():
            await asyncio.to_thread(closed.join, 5)


async def test_a_malformed_offer_is_ignored() -> None:
    manager = SessionManager(SessionLimits())
    session, built = manager.create(lambda: {"f": Field()}, owner=OWNER, base="")
    await built
    session.restorable = True
    try:
        state = (await _snapshot(manager, session.id, ["not", "a", "dict"]))["f"]
        assert state["value"] == ""
    finally:
        for closed in manager.close_all():
            await asyncio.to_thread(closed.join, 5)


class Holder(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    child = traitlets.Instance(Widget, allow_none=True).tag(sync=True, **widget_serialization)


async def test_an_offer_may_not_name_another_sessions_widget() -> None:
    manager = SessionManager(SessionLimits())
    other, other_built = manager.create(lambda: {"f": Field()}, owner="x" * 32, base="")
    foreign = (await other_built)["f"]
    session, built = manager.create(lambda: {"h": Holder()}, owner=OWNER, base="")
    holder = (await built)["h"]
    session.restorable = True
    try:
        offer = {"h": {"child": f"IPY_MODEL_{foreign.model_id}"}}
        await _snapshot(manager, session.id, offer)
        assert holder.child is None  # the update path refuses the same value
    finally:
        for closed in manager.close_all():
            await asyncio.to_thread(closed.join, 5)
