"""The wire format: frames, buffers inside state, and the shape checks on client messages."""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numerous.apps._outbox import Outbox
from numerous.apps._protocol import (
    PROTOCOL_VERSION,
    ClientMessage,
    CloseCode,
    ProtocolError,
    ServerMessage,
    decode,
    encode,
    parse_client_message,
    parse_hello,
    put_buffers,
    split_buffers,
)
from numerous.apps._socket import encode_message


def frame(message: dict[str, Any], *buffers: bytes) -> str | bytes:
    return encode(message, list(buffers))


# --- frames ---------------------------------------------------------------------------------


def test_message_without_buffers_is_a_compact_text_frame() -> None:
    encoded = encode({"type": "update", "id": "a", "state": {"value": "é"}, "ack": 3})
    assert isinstance(encoded, str)
    assert " " not in encoded
    assert "é" in encoded  # not \u-escaped
    message, buffers = decode(encoded)
    assert message == {"type": "update", "id": "a", "state": {"value": "é"}, "ack": 3}
    assert buffers == []


def test_binary_frame_layout_matches_the_protocol_document() -> None:
    encoded = encode({"type": "custom", "id": "w", "content": {}}, [b"abc", b""])
    assert isinstance(encoded, bytes)
    (count,) = struct.unpack_from("<I", encoded, 0)
    assert count == 3
    offsets = struct.unpack_from("<3I", encoded, 4)
    assert offsets[0] == 4 + 4 * 3
    text = encoded[offsets[0]:offsets[1]].decode()
    assert json.loads(text) == {"type": "custom", "id": "w", "content": {}}
    assert encoded[offsets[1]:offsets[2]] == b"abc"
    assert encoded[offsets[2]:] == b""


def test_state_with_nested_buffers_round_trips_through_a_binary_frame() -> None:
    state = {
        "plain": 1,
        "image": b"\x89PNG",
        "nested": {"deep": [0, bytearray(b"\x00\x01"), {"leaf": memoryview(b"xyz")}]},
        "tuple": (b"t0", "keep"),
    }
    stripped, paths, buffers = split_buffers(state)
    assert sorted(map(str, paths)) == sorted(map(str, [
        ["image"], ["nested", "deep", 1], ["nested", "deep", 2, "leaf"], ["tuple", 0]]))
    assert all(isinstance(b, bytes) for b in buffers)
    assert stripped["plain"] == 1 and stripped["image"] is None
    assert state["image"] == b"\x89PNG", "the caller's state is not modified"

    encoded = encode({"type": "update", "id": "m", "state": stripped, "buffer_paths": paths,
                      "seq": 1}, buffers)
    assert isinstance(encoded, bytes)
    message, received = decode(encoded)
    assert [bytes(b) for b in received] == buffers

    parsed = parse_client_message(message, received)
    assert parsed["state"]["image"] == b"\x89PNG"
    assert parsed["state"]["nested"]["deep"][1] == b"\x00\x01"
    assert parsed["state"]["nested"]["deep"][2]["leaf"] == b"xyz"
    assert parsed["state"]["tuple"] == [b"t0", "keep"]
    assert parsed["seq"] == 1


def test_split_buffers_leaves_a_buffer_free_state_untouched() -> None:
    state = {"a": 1, "b": [1, 2, {"c": "x"}], "d": {"e": None}}
    stripped, paths, buffers = split_buffers(state)
    assert stripped is state
    assert paths == [] and buffers == []


def test_split_buffers_copies_only_containers_that_hold_buffers() -> None:
    untouched = {"x": [1, 2]}
    state = {"keep": untouched, "has": {"buf": b"1"}}
    stripped, _, _ = split_buffers(state)
    assert stripped is not state
    assert stripped["keep"] is untouched
    assert stripped["has"] is not state["has"]


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text() | st.binary(),
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5), children, max_size=4),
        max_leaves=12,
    )
)
def test_any_state_round_trips(value: Any) -> None:
    state = {"value": value}
    stripped, paths, buffers = split_buffers(state)
    message, received = decode(encode({"type": "update", "id": "m", "state": stripped,
                                       "buffer_paths": paths, "seq": 0}, buffers))
    parsed = parse_client_message(message, received)
    assert parsed["state"] == state


def test_custom_message_keeps_its_buffers_as_memoryviews() -> None:
    message, buffers = decode(frame({"type": "custom", "id": "w", "content": {"k": 1},
                                     "seq": 4}, b"\x00\xff", b"abc"))
    parsed = parse_client_message(message, buffers)
    assert parsed["content"] == {"k": 1}
    assert all(isinstance(b, memoryview) for b in parsed["buffers"])
    assert [bytes(b) for b in parsed["buffers"]] == [b"\x00\xff", b"abc"]


# --- malformed frames -----------------------------------------------------------------------


def _valid_binary() -> bytes:
    encoded = encode({"type": "custom", "id": "w", "content": 1, "seq": 1}, [b"abcdef"])
    assert isinstance(encoded, bytes)
    return encoded


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x01\x00\x00", id="shorter-than-a-header"),
        pytest.param(_valid_binary()[:6], id="truncated-in-the-offsets"),
        pytest.param(struct.pack("<I", 0) + b"\x00" * 8, id="zero-parts"),
        pytest.param(struct.pack("<I", 1000) + b"\x00" * 8, id="more-parts-than-bytes"),
        pytest.param(struct.pack("<II", 1, 4) + b"{}", id="first-offset-not-after-header"),
        pytest.param(struct.pack("<III", 2, 12, 999) + b'{"type":"x"}', id="offset-past-end"),
        pytest.param(struct.pack("<III", 2, 16, 12) + b'{"type":"x"}', id="offsets-decrease"),
        pytest.param(struct.pack("<II", 1, 8) + b"\xff\xfe", id="not-utf8"),
        pytest.param(struct.pack("<II", 1, 8) + b"[1]", id="binary-not-an-object"),
        pytest.param("not json", id="not-json"),
        pytest.param("{\"type\": \"update\"", id="truncated-json"),
        pytest.param("[1, 2]", id="array"),
        pytest.param("\"hello\"", id="string"),
        pytest.param("42", id="number"),
        pytest.param("null", id="null"),
        pytest.param("{}", id="missing-type"),
        pytest.param("{\"type\": 5}", id="type-not-a-string"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="deep-nesting"),
    ],
)
def test_malformed_frames_raise_bad_frame(bad: str | bytes) -> None:
    with pytest.raises(ProtocolError) as caught:
        message, buffers = decode(bad)
        parse_client_message(message, buffers)  # for frames that decode: the shape check
    assert caught.value.code == "bad_frame"


def test_truncated_binary_frame_is_refused() -> None:
    whole = _valid_binary()
    for cut in range(len(whole) - len(b"abcdef") - 1):
        with pytest.raises(ProtocolError) as caught:
            message, buffers = decode(whole[:cut])
            parse_client_message(message, buffers)
        assert caught.value.code == "bad_frame", cut


def _update(**fields: Any) -> dict[str, Any]:
    return {"type": "update", "id": "w", "state": {"v": 1}, "seq": 1, **fields}


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(_update(id=7), id="id-int"),
        pytest.param(_update(id=None), id="id-null"),
        pytest.param({"type": "update", "state": {}, "seq": 1}, id="id-missing"),
        pytest.param(_update(seq="1"), id="seq-string"),
        pytest.param(_update(seq=1.5), id="seq-float"),
        pytest.param(_update(seq=True), id="seq-bool-true"),
        pytest.param(_update(seq=False), id="seq-bool-false"),
        pytest.param(_update(seq=-1), id="seq-negative"),
        pytest.param({"type": "update", "id": "w", "state": {}}, id="seq-missing"),
        pytest.param(_update(state=[1]), id="state-list"),
        pytest.param(_update(state=None), id="state-null"),
        pytest.param(_update(buffer_paths="x"), id="buffer-paths-not-a-list"),
        pytest.param(_update(buffer_paths=[["v"]]), id="more-paths-than-buffers"),
        pytest.param({"type": "custom", "id": "w", "seq": 1}, id="custom-without-content"),
        pytest.param({"type": "custom", "id": 1, "content": {}, "seq": 1}, id="custom-id-int"),
        pytest.param({"type": "custom", "id": "w", "content": {}, "seq": True},
                     id="custom-seq-bool"),
        pytest.param({"type": "hello", "protocol": 1, "session": "s"}, id="second-hello"),
        pytest.param({"type": "launch_missiles"}, id="unknown-type"),
    ],
)
def test_badly_shaped_client_messages_raise_bad_frame(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(message, [])
    assert caught.value.code == "bad_frame"


@pytest.mark.parametrize(
    "paths",
    [
        pytest.param([[]], id="empty-path"),
        pytest.param(["v"], id="path-not-a-list"),
        pytest.param([["missing", "deeper"]], id="missing-container"),
        pytest.param([["v", 3]], id="into-a-number"),
    ],
)
def test_buffer_paths_that_do_not_fit_the_state_raise_bad_frame(paths: list[Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        put_buffers({"v": 1}, paths, [b"x"])
    assert caught.value.code == "bad_frame"


def test_unknown_type_error_message_is_bounded() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message({"type": "x" * 10_000}, [])
    assert len(str(caught.value)) < 200


# --- hello ----------------------------------------------------------------------------------


def test_hello_is_parsed() -> None:
    assert parse_hello({"type": "hello", "protocol": PROTOCOL_VERSION, "session": "abc"}) == {
        "type": "hello", "protocol": PROTOCOL_VERSION, "session": "abc"}


@pytest.mark.parametrize(
    "message",
    [
        {"type": "update", "id": "w", "state": {}, "seq": 1},
        {"type": "hello", "protocol": PROTOCOL_VERSION},
        {"type": "hello", "protocol": PROTOCOL_VERSION, "session": 5},
        {"type": "hello", "protocol": PROTOCOL_VERSION + 1, "session": "abc"},
        {"type": "hello", "session": "abc"},
    ],
)
def test_bad_hello_raises_bad_frame(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_hello(message)
    assert caught.value.code == "bad_frame"


def test_encode_refuses_values_json_cannot_carry() -> None:
    with pytest.raises(ValueError):
        encode({"type": "update", "state": {"v": float("nan")}})


# --- reference frames, shared with tests/js/protocol.test.js --------------------------------

REFERENCE = json.loads((Path(__file__).parents[1] / "protocol" / "frames.json").read_text("utf-8"))


def _frame_of(entry: dict[str, Any]) -> str | bytes:
    return entry["text"] if "text" in entry else bytes.fromhex(entry["binary"])


def _buffers_of(entry: dict[str, Any]) -> list[bytes]:
    return [bytes.fromhex(b) for b in entry["buffers"]]


def _named(direction: str) -> Any:
    return pytest.mark.parametrize("entry", REFERENCE[direction], ids=lambda e: e["name"])


def _with_buffers_in_state(entry: dict[str, Any]) -> dict[str, Any]:
    """The message as the sender holds it: binary values inside the state."""
    message = copy.deepcopy(entry["message"])
    paths = message.get("buffer_paths", [])
    put_buffers(message["state"], paths, _buffers_of(entry))
    return message


def test_the_reference_names_this_protocol_version_and_its_close_codes() -> None:
    assert REFERENCE["protocol"] == PROTOCOL_VERSION
    codes = {name: value for name, value in vars(CloseCode).items() if name.isupper()}
    assert codes == REFERENCE["close_codes"]


def test_the_reference_has_a_frame_for_every_message_type() -> None:
    def types(union: Any) -> set[str]:
        return {get_args(get_type_hints(t)["type"])[0] for t in get_args(union)}

    assert types(ClientMessage) == {e["message"]["type"] for e in REFERENCE["client"]}
    assert types(ServerMessage) == {e["message"]["type"] for e in REFERENCE["server"]}


@_named("client")
def test_client_reference_frames_encode_decode_and_parse(entry: dict[str, Any]) -> None:
    expected = _frame_of(entry)
    assert encode(entry["message"], _buffers_of(entry)) == expected
    message, buffers = decode(expected)
    assert message == entry["message"]
    assert [bytes(b) for b in buffers] == _buffers_of(entry)
    if message["type"] == "hello":
        assert parse_hello(message) == entry["message"]
        return
    parsed = dict(parse_client_message(message, buffers))
    if parsed["type"] == "update":
        expected_update = _with_buffers_in_state(entry)
        expected_update.pop("buffer_paths", None)  # the buffers are back in the state
        assert parsed == expected_update
    elif parsed["type"] == "custom":
        assert [bytes(b) for b in parsed.pop("buffers")] == _buffers_of(entry)
        assert parsed == entry["message"]
    else:
        assert parsed == entry["message"]


@_named("server")
def test_server_reference_frames_come_from_the_servers_typed_messages(
        entry: dict[str, Any]) -> None:
    expected = _frame_of(entry)
    kind = entry["message"]["type"]
    if kind in ("open", "update"):
        # The server's path: the outbox's typed message, binary values still in the state.
        outbox = Outbox()
        held = _with_buffers_in_state(entry)
        outbox.put_state(kind, held["id"], held["state"], held["ack"])
        ((message, buffers),) = outbox.take()
        assert encode_message(message, buffers) == expected
    else:
        assert encode_message(entry["message"], _buffers_of(entry)) == expected
    message, buffers = decode(expected)
    assert message == entry["message"]
    assert [bytes(b) for b in buffers] == _buffers_of(entry)


@pytest.mark.parametrize("entry", REFERENCE["malformed"], ids=lambda e: e["name"])
def test_malformed_reference_frames_do_not_decode(entry: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(_frame_of(entry))
    assert caught.value.code == "bad_frame"


@pytest.mark.parametrize("entry", REFERENCE["refused"], ids=lambda e: e["name"])
def test_refused_reference_frames_are_bad_frames(entry: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(*decode(_frame_of(entry)))
    assert caught.value.code == "bad_frame"
