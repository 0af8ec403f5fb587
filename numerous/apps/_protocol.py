"""The wire format between server and browser: message types and frame encoding.

This module is the one place that knows how messages look on the WebSocket; `docs/protocol.md`
describes it in prose and `numerous/js/protocol.js` mirrors it in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict

PROTOCOL_VERSION = 1

JSON = Any
Path = list[str | int]


class Hello(TypedDict):
    type: Literal["hello"]
    protocol: int
    session: str
    restore: NotRequired[dict[str, dict[str, JSON]]]
    """Widget values a page offers back after losing its session (restore_state apps)."""
    resume: NotRequired[str]
    """The id of the session a page lost: with a session store, the new session is rebuilt
    from what the store kept for it (if the same owner opened it)."""
    page: NotRequired[str]
    """A random id of the page (one document: the same on every reconnect, new on a reload),
    so that a page the browser took from its cache is told apart from the page that had the
    session it names."""
    url: NotRequired[str]
    """The page's path and query: which of the sessions built for the owner's revalidated
    page loads is this page's (see `SessionManager.claim`)."""
    have: NotRequired[list[str]]
    """Digests of widget states the page keeps from its last snapshot: an `open` whose state
    has one of them names it (`ref`) instead of carrying the state."""


class ClientUpdate(TypedDict):
    type: Literal["update"]
    id: str
    state: dict[str, JSON]
    buffer_paths: NotRequired[list[Path]]
    seq: int


class ClientCustom(TypedDict):
    type: Literal["custom"]
    id: str
    content: JSON
    seq: int
    buffers: list[memoryview]


class Sync(TypedDict):
    """Ask to be told when everything sent before this frame has been handled."""

    type: Literal["sync"]
    token: int


class Open(TypedDict):
    type: Literal["open"]
    id: str
    state: dict[str, JSON]
    buffer_paths: list[Path]
    ack: int
    d: NotRequired[str]
    """The digest of the state with its model references numbered (`state_digest`): the page
    may keep it and be sent a `ref` to it next time."""
    ids: NotRequired[list[str]]
    """The models the state refers to, in the order of their numbers."""


class OpenKept(TypedDict):
    """An `open` whose state the page keeps: the one with digest `ref`, its model references
    numbered `IPY_MODEL_$k` for the k-th of `ids`."""

    type: Literal["open"]
    id: str
    ref: str
    ids: NotRequired[list[str]]
    ack: int


class Ready(TypedDict):
    type: Literal["ready"]
    widgets: dict[str, str]
    ack: int
    session: NotRequired[str]
    """The page's session when it is not the one its hello named (a page from the browser's
    cache is given the session built for it): the page names this one from now on."""


class Update(TypedDict):
    type: Literal["update"]
    id: str
    state: dict[str, JSON]
    buffer_paths: list[Path]
    ack: int


class Custom(TypedDict):
    type: Literal["custom"]
    id: str
    content: JSON


class Close(TypedDict):
    type: Literal["close"]
    id: str


class Synced(TypedDict):
    """The answer to a `sync`: every frame before it was handled, and what that sent came
    first."""

    type: Literal["synced"]
    token: int


ErrorCode = Literal[
    "bad_frame",
    "too_large",
    "unknown_widget",
    "invalid_value",
    "callback_error",
    "rate_limited",
]


class Error(TypedDict):
    type: Literal["error"]
    code: ErrorCode
    message: str
    id: NotRequired[str]
    traceback: NotRequired[str]


class SessionLost(TypedDict):
    type: Literal["session_lost"]
    reason: str


class Notice(TypedDict):
    """A message for the person using the page (an administrator's notice): shown, not logged."""

    type: Literal["notice"]
    text: str


class Download(TypedDict):
    """Make the page save the file at `url` (a one-time download URL of its session) as
    `filename`."""

    type: Literal["download"]
    url: str
    filename: str


class Reload(TypedDict):
    type: Literal["reload"]
    tag: NotRequired[str]


class DevError(TypedDict):
    type: Literal["dev_error"]
    message: str
    traceback: str


ServerMessage = (Open | OpenKept | Ready | Update | Custom | Close | Synced | Error | SessionLost
                 | Reload | DevError | Notice | Download)
ClientMessage = Hello | ClientUpdate | ClientCustom | Sync
WidgetMessage = ClientUpdate | ClientCustom
"""What the browser sends to one of its widgets."""


class CloseCode:
    """WebSocket close codes of the protocol (4000-4999 are the application's range)."""

    BAD_HELLO = 4400
    UNAUTHORIZED = 4401
    SESSION_UNKNOWN = 4404
    TOO_SLOW = 4408
    REPLACED = 4409
    TOO_MUCH = 4413
    """The connection sent more than its session's inbox holds; the session lives on."""
    GOING_AWAY = 1001


class ProtocolError(ValueError):
    """A frame that does not follow the protocol. The message is safe to show the client."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code


# --- binary buffers inside state ------------------------------------------------------------

_BINARY = (bytes, bytearray, memoryview)


def split_buffers(state: dict[str, JSON]) -> tuple[dict[str, JSON], list[Path], list[bytes]]:
    """Take binary values out of `state`; return the rest, their paths and the buffers.

    Only containers that hold a buffer are copied, so a state without buffers comes back as is.
    """
    paths: list[Path] = []
    buffers: list[bytes] = []
    stripped = _split(state, [], paths, buffers)
    return stripped, paths, buffers


def _split(value: JSON, path: Path, paths: list[Path], buffers: list[bytes]) -> JSON:
    if isinstance(value, dict):
        out: dict[str, JSON] | None = None
        for key, item in value.items():
            new = _split(item, [*path, key], paths, buffers)
            if new is not item:
                out = dict(value) if out is None else out
                out[key] = new
        return value if out is None else out
    if isinstance(value, list | tuple):
        out_list: list[JSON] | None = None
        for index, item in enumerate(value):
            new = _split(item, [*path, index], paths, buffers)
            if new is not item:
                out_list = list(value) if out_list is None else out_list
                out_list[index] = new
        return value if out_list is None else out_list
    if isinstance(value, _BINARY):
        paths.append(path)
        buffers.append(bytes(value) if not isinstance(value, bytes) else value)
        return None
    return value


def put_buffers(state: dict[str, JSON], paths: Sequence[Path], buffers: Sequence[Any]) -> None:
    """Put buffers back into `state` at `paths` (in place). Raises ProtocolError on bad paths."""
    if len(paths) != len(buffers):
        raise ProtocolError("bad_frame", "buffer_paths and buffers differ in length")
    for path, buffer in zip(paths, buffers, strict=True):
        if not isinstance(path, list) or not path:
            raise ProtocolError("bad_frame", "a buffer path must be a non-empty list")
        target: Any = state
        try:
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = buffer
        except (KeyError, IndexError, TypeError):
            raise ProtocolError("bad_frame", f"buffer path {path!r} does not fit the state") from None


# --- frames ---------------------------------------------------------------------------------

_U32 = struct.Struct("<I")


def dumps(message: dict[str, JSON]) -> str:
    """Compact JSON for the wire."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode(message: dict[str, JSON], buffers: Sequence[bytes] = ()) -> str | bytes:
    """A text frame for a message without buffers, a binary frame for one with buffers."""
    text = dumps(message)
    if not buffers:
        return text
    parts = [text.encode(), *(bytes(b) for b in buffers)]
    header = 4 + 4 * len(parts)
    offsets = []
    position = header
    for part in parts:
        offsets.append(position)
        position += len(part)
    head = _U32.pack(len(parts)) + b"".join(_U32.pack(o) for o in offsets)
    return head + b"".join(parts)


def encode_server(message: ServerMessage, buffers: Sequence[Any] = ()) -> str | bytes:
    """The frame for a server message. Binary values inside an `open` or `update` state
    travel as buffers: they are taken out here and `buffer_paths` says where they were."""
    if (message["type"] == "open" and "state" in message) or message["type"] == "update":
        state, paths, buffers = split_buffers(message["state"])
        return encode({**message, "state": state, "buffer_paths": paths}, buffers)
    return encode(dict(message), buffers)


def decode(frame: str | bytes) -> tuple[dict[str, JSON], list[memoryview]]:
    """Parse a frame into its message and buffers. Raises ProtocolError on anything malformed."""
    if isinstance(frame, str):
        return _parse_json(frame), []
    view = memoryview(frame)
    if len(view) < 8:
        raise ProtocolError("bad_frame", "binary frame too short")
    (count,) = _U32.unpack_from(view, 0)
    header = 4 + 4 * count
    if count < 1 or header > len(view):
        raise ProtocolError("bad_frame", "binary frame has a bad part count")
    offsets = [_U32.unpack_from(view, 4 + 4 * i)[0] for i in range(count)] + [len(view)]
    if offsets[0] != header or any(a > b for a, b in zip(offsets, offsets[1:], strict=False)):
        raise ProtocolError("bad_frame", "binary frame has bad offsets")
    parts = [view[offsets[i] : offsets[i + 1]] for i in range(count)]
    try:
        text = bytes(parts[0]).decode()
    except UnicodeDecodeError:
        raise ProtocolError("bad_frame", "message part is not UTF-8") from None
    return _parse_json(text), parts[1:]


def _parse_json(text: str) -> dict[str, JSON]:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_frame", "frame is not valid JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("bad_frame", "a message must be a JSON object with a string 'type'")
    return message


def parse_client_message(message: dict[str, JSON], buffers: list[memoryview]
                         ) -> WidgetMessage | Sync:
    """Check the shape of a message from the browser; the result is safe to hand on."""
    kind = message["type"]
    if kind == "sync":
        token = message.get("token")
        if not isinstance(token, int) or isinstance(token, bool) or token < 0:
            raise ProtocolError("bad_frame", "sync needs a non-negative integer 'token'")
        return Sync(type="sync", token=token)
    if kind == "update":
        state = message.get("state")
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise ProtocolError("bad_frame", "update needs an object 'state'")
        _check_id_and_seq(message)
        paths = message.get("buffer_paths", [])
        if not isinstance(paths, list):
            raise ProtocolError("bad_frame", "buffer_paths must be a list")
        put_buffers(state, paths, [bytes(b) for b in buffers])
        return ClientUpdate(type="update", id=message["id"], state=state, seq=message["seq"])
    if kind == "custom":
        _check_id_and_seq(message)
        if "content" not in message:
            raise ProtocolError("bad_frame", "custom needs 'content'")
        return ClientCustom(type="custom", id=message["id"], content=message["content"],
                            seq=message["seq"], buffers=buffers)
    if kind == "hello":
        raise ProtocolError("bad_frame", "hello was already received")
    raise ProtocolError("bad_frame", f"unknown message type {kind[:40]!r}")


# --- states a page keeps between loads -------------------------------------------------------

MODEL_REF = "IPY_MODEL_"
MAX_KEPT = 4096
"""Digests a hello may name; more are ignored."""


def state_digest(state: dict[str, JSON]) -> tuple[str, list[str]] | None:
    """A digest of `state` that is the same for every session: model references
    (`IPY_MODEL_<id>`) are numbered in the order they come (`IPY_MODEL_$0`, ...) before
    hashing. Returns the digest and the referenced ids, or None for a state with binary values
    (they travel as buffers and are not kept)."""
    try:
        text = dumps(state)
    except (TypeError, ValueError):
        return None
    ids: list[str] = []
    if MODEL_REF in text:
        text = _numbered_text(text, ids)
        if text is None:  # a reference the pattern cannot read: walk the state instead
            ids = []
            text = dumps(_numbered(state, ids))
    digest = hashlib.blake2b(text.encode(), digest_size=12).digest()
    return base64.urlsafe_b64encode(digest).decode(), ids


_REF_STRING = re.compile(r'"IPY_MODEL_([^"\\]*)"(?!:)')
"""A whole string that is a model reference and not a key, in compact JSON (the character
before it says whether it is a value: `[`, `:` or `,`)."""


def _numbered_text(text: str, ids: list[str]) -> str | None:
    """The compact JSON `text` with its model references numbered, as `_numbered` does on the
    value (the same order: JSON keeps that of the dicts and lists). A state of ten thousand
    chart points is numbered in C instead of a Python call per value. None when some
    `IPY_MODEL_` is not a whole string value the pattern reads (a key, or escapes)."""
    found = 0

    def number(match: re.Match[str]) -> str:
        nonlocal found
        if text[match.start() - 1] not in "[:,":
            return match.group(0)
        found += 1
        model_id = match.group(1)
        if model_id not in ids:
            ids.append(model_id)
        return f'"{MODEL_REF}${ids.index(model_id)}"'

    numbered = _REF_STRING.sub(number, text)
    return numbered if found == text.count(MODEL_REF) else None


def _numbered(value: JSON, ids: list[str]) -> JSON:
    if isinstance(value, str):
        if not value.startswith(MODEL_REF):
            return value
        model_id = value[len(MODEL_REF):]
        if model_id not in ids:
            ids.append(model_id)
        return f"{MODEL_REF}${ids.index(model_id)}"
    if isinstance(value, dict):
        return {key: _numbered(item, ids) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_numbered(item, ids) for item in value]
    return value


def parse_hello(message: dict[str, JSON]) -> Hello:
    if message.get("type") != "hello" or not isinstance(message.get("session"), str):
        raise ProtocolError("bad_frame", "the first message must be a hello with a session id")
    if message.get("protocol") != PROTOCOL_VERSION:
        raise ProtocolError("bad_frame", f"protocol version {PROTOCOL_VERSION} is required")
    hello = Hello(type="hello", protocol=PROTOCOL_VERSION, session=message["session"])
    restore = message.get("restore")
    if isinstance(restore, dict) and all(isinstance(v, dict) for v in restore.values()):
        hello["restore"] = restore  # anything else there is ignored, not an error
    resume = message.get("resume")
    if isinstance(resume, str) and 0 < len(resume) <= 64:
        hello["resume"] = resume
    page, url, have = message.get("page"), message.get("url"), message.get("have")
    if isinstance(page, str) and 0 < len(page) <= 64:
        hello["page"] = page
    if isinstance(url, str) and len(url) <= 4096:
        hello["url"] = url
    if isinstance(have, list):
        hello["have"] = [d for d in have[:MAX_KEPT] if isinstance(d, str) and len(d) <= 32]
    return hello


def _check_id_and_seq(message: dict[str, JSON]) -> None:
    if not isinstance(message.get("id"), str):
        raise ProtocolError("bad_frame", "message needs a string 'id'")
    seq = message.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ProtocolError("bad_frame", "message needs a non-negative integer 'seq'")
