"""Comm routing: widgets belong to the session whose thread creates them."""

from __future__ import annotations

import threading
from typing import Any

import anywidget
import comm
import traitlets
from ipywidgets.widgets.widget import _instances

from numerous.apps import _comm
from numerous.apps._comm import SessionComm, bound_to, current_sink


class Recorder:
    """A CommSink that records what its comms publish."""

    def __init__(self) -> None:
        self.comms: dict[str, SessionComm] = {}
        self.published: list[tuple[str, str, dict[str, Any], list[Any] | None]] = []

    def register_comm(self, c: SessionComm) -> None:
        self.comms[c.comm_id] = c

    def unregister_comm(self, c: SessionComm) -> None:
        self.comms.pop(c.comm_id, None)

    def publish(self, comm_id: str, msg_type: str, data: dict[str, Any],
                buffers: list[Any] | None) -> None:
        self.published.append((comm_id, msg_type, data, buffers))

    def close_all(self) -> None:
        """Close every widget of this sink (a DOMWidget also owns a Layout widget)."""
        with bound_to(self):
            for comm_id, c in list(self.comms.items()):
                widget = _instances.get(comm_id)
                widget.close() if widget is not None else c.close()


class Slider(anywidget.AnyWidget):
    _esm = "export default { render() {} }"
    value = traitlets.Int(0).tag(sync=True)


def test_install_is_idempotent_and_keeps_the_original_factory() -> None:
    _comm.install()
    previous = _comm._previous_factory  # noqa: SLF001
    _comm.install()
    assert comm.create_comm is _comm._create_comm  # noqa: SLF001
    assert _comm._previous_factory is previous  # noqa: SLF001
    assert previous is not _comm._create_comm  # noqa: SLF001


def test_a_widget_created_inside_bound_to_gets_a_session_comm_of_that_sink() -> None:
    sink = Recorder()
    with bound_to(sink):
        widget = Slider(value=3)
    try:
        assert isinstance(widget.comm, SessionComm)
        assert widget.comm._sink is sink  # noqa: SLF001
        assert sink.comms[widget.model_id] is widget.comm
        # The widget's Layout (a widget of its own) belongs to the same sink.
        assert isinstance(widget.layout.comm, SessionComm)
        assert sink.comms[widget.layout.model_id] is widget.layout.comm
        opens = {p[0]: p[2] for p in sink.published if p[1] == "comm_open"}
        assert opens[widget.model_id]["state"]["value"] == 3
        assert _instances[widget.model_id] is widget
    finally:
        sink.close_all()
    assert sink.comms == {}


def test_outside_any_session_the_previous_factory_is_used() -> None:
    assert current_sink() is None
    widget = Slider()
    try:
        assert not isinstance(widget.comm, SessionComm)
        assert isinstance(widget.comm, comm.DummyComm)
        widget.value = 5  # a module-level widget keeps working
        assert widget.value == 5
    finally:
        widget.layout.close()
        widget.close()


def test_bound_to_restores_the_previous_sink_even_after_an_error() -> None:
    outer, inner = Recorder(), Recorder()
    with bound_to(outer):
        try:
            with bound_to(inner):
                assert current_sink() is inner
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert current_sink() is outer
    assert current_sink() is None


def test_the_binding_is_per_thread() -> None:
    sink = Recorder()
    seen: list[Any] = []
    with bound_to(sink):
        thread = threading.Thread(target=lambda: seen.append(current_sink()))
        thread.start()
        thread.join()
        def make_elsewhere() -> None:
            widget = Slider()
            seen.append(type(widget.comm))
            widget.layout.close()
            widget.close()

        other = threading.Thread(target=make_elsewhere)
        other.start()
        other.join()
    assert seen[0] is None
    assert seen[1] is comm.DummyComm
    assert sink.comms == {}


def test_state_changes_and_custom_messages_are_published_to_the_sink() -> None:
    sink = Recorder()
    with bound_to(sink):
        widget = Slider()
        sink.published.clear()
        widget.value = 9
        widget.send({"hello": 1}, [b"\x01\x02"])
        widget.close()
    sink.close_all()
    updates = [p for p in sink.published if p[2].get("method") == "update"]
    assert updates[0][2]["state"] == {"value": 9}
    custom = [p for p in sink.published if p[2].get("method") == "custom"]
    assert custom[0][2]["content"] == {"hello": 1}
    assert [bytes(b) for b in custom[0][3] or []] == [b"\x01\x02"]
    assert sink.published[-1][1] == "comm_close"


def test_close_publishes_once_and_unregisters() -> None:
    sink = Recorder()
    with bound_to(sink):
        widget = Slider()
    session_comm = widget.comm
    widget.close()
    session_comm.close()  # a second close is a no-op
    closes = [p[0] for p in sink.published if p[1] == "comm_close"]
    assert closes == [session_comm.comm_id]
    assert session_comm.comm_id not in sink.comms
    assert session_comm.comm_id not in _instances
    assert widget.comm is None
    sink.close_all()


def test_incoming_messages_reach_the_widget_without_a_kernel() -> None:
    sink = Recorder()
    received: list[Any] = []
    with bound_to(sink):
        widget = Slider()
    widget.on_msg(lambda w, content, buffers: received.append((content, buffers)))
    try:
        widget.comm.handle_msg({"content": {"data": {"method": "custom", "content": {"x": 1}}},
                                "buffers": []})
        assert received == [({"x": 1}, [])]
    finally:
        sink.close_all()


def test_session_comms_are_not_registered_with_the_global_comm_manager() -> None:
    sink = Recorder()
    with bound_to(sink):
        widget = Slider()
    try:
        assert widget.model_id not in comm.get_comm_manager().comms
    finally:
        sink.close_all()
