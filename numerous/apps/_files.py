"""Files over HTTP: uploads into a session and downloads out of it, beside the WebSocket.

A file never travels over the WebSocket (whose frames are capped). Each session gets an
unguessable upload token; a widget posts a file's bytes to
`{base}/numerous/files/upload/{token}/{model_id}`, the body is streamed into a spooled
temporary file, and the widget's upload callback gets it on the session thread. `download()`
registers a one-time, expiring token served at `{base}/numerous/files/download/{token}` and
tells the page to fetch it with a `download` message. Both routes only serve
the browser that owns the session: the same owner (client cookie, and user when signed in),
from a page of this site.
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import os
import secrets
import tempfile
import time
import weakref
from collections.abc import AsyncIterable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ._client import client_token
from ._origin import cross_site_reason
from ._protocol import Download
from ._runtime import AppRuntime, Extension
from ._session import Session, current_session

logger = logging.getLogger("numerous.apps")

DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024
DOWNLOAD_TTL = 300.0
"""Seconds a download URL stays valid when the browser does not fetch it."""
SPOOL_BYTES = 1024 * 1024
"""An upload stays in memory up to this size, then moves to an anonymous file on disk."""
CHUNK_BYTES = 256 * 1024
UPLOAD_PATH = "/numerous/files/upload"
DOWNLOAD_PATH = "/numerous/files/download"

Source = bytes | str | os.PathLike[str] | IO[bytes] | Iterable[bytes] | AsyncIterable[bytes]
UploadCallback = Callable[["UploadedFile"], object]


@dataclass
class UploadedFile:
    """One received file, as an upload callback gets it. The file is removed when the
    callback returns: copy what should outlive it."""

    name: str
    """The file's name as the browser gave it, reduced to a plain name (see `safe_filename`)."""
    size: int
    content_type: str
    file: IO[bytes]
    """The bytes, readable from the start."""

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()


@dataclass
class PendingDownload:
    source: Source
    filename: str
    media_type: str
    files: SessionFiles
    expires_at: float


class Files:
    """One app's uploads and downloads in progress: what its file routes serve."""

    def __init__(self, runtime: AppRuntime, max_upload_bytes: int,
                 download_ttl: float = DOWNLOAD_TTL) -> None:
        self.runtime = runtime
        self.max_upload_bytes = max_upload_bytes
        self.download_ttl = download_ttl
        self.sessions: dict[str, SessionFiles] = {}
        self.downloads: dict[str, PendingDownload] = {}

    def open(self) -> None:
        """A session starts (on its thread): give it its upload token."""
        session = current_session()
        if session is not None:
            files = SessionFiles(self, session)
            self.sessions[files.token] = files
            _by_session[session] = files
            session.on_close(files.close)

    def add_download(self, files: SessionFiles, source: Source, filename: str,
                     media_type: str) -> str:
        now = time.monotonic()
        for token, pending in list(self.downloads.items()):
            if pending.expires_at < now:
                self.downloads.pop(token, None)
        token = secrets.token_urlsafe(24)
        self.downloads[token] = PendingDownload(source, filename, media_type, files,
                                                now + self.download_ttl)
        return token

    def forget(self, files: SessionFiles) -> None:
        self.sessions.pop(files.token, None)
        for token, pending in list(self.downloads.items()):
            if pending.files is files:
                self.downloads.pop(token, None)


class SessionFiles:
    """A session's share of the file routes: its upload token and targets, the uploads it is
    receiving."""

    def __init__(self, registry: Files, session: Session) -> None:
        self.registry = registry
        self.session = session
        self.token = secrets.token_urlsafe(24)
        self.targets: dict[str, UploadCallback] = {}
        self.receiving: set[IO[bytes]] = set()
        self.closed = False

    def upload_url(self, widget: Any) -> str:
        return f"{self.session.base}{UPLOAD_PATH}/{self.token}/{widget.model_id}"

    def close(self) -> None:
        """The session ends (on the event loop): its URLs stop working, its temporary files go."""
        if self.closed:
            return
        self.closed = True
        self.registry.forget(self)
        _by_session.pop(self.session, None)  # this entry's value holds its key: drop it
        for spool in list(self.receiving):
            spool.close()
        self.receiving.clear()


_by_session: weakref.WeakKeyDictionary[Session, SessionFiles] = weakref.WeakKeyDictionary()


def files_of(session: Session | None) -> SessionFiles:
    files = _by_session.get(session) if session is not None else None
    if files is None or files.closed:
        raise RuntimeError("files move in and out of a live page's session: call this inside "
                           "run_app() or a callback (apps with share_widgets=True have none)")
    return files


# --- the Python API ---------------------------------------------------------------------------


def download(source: Source, filename: str, media_type: str | None = None) -> str:
    """Make the browser of the current session save a file; call it in a callback.

    `source` is the content (`bytes`, or `str` sent as UTF-8), a file on disk (a
    `pathlib.Path`), a binary file object, or an iterator of `bytes` chunks (sync or async):
    all but bytes are streamed, so a large file is never held in memory. The URL is for this
    session's browser only, works once, and expires after five minutes unused. Returns it.
    """
    files = files_of(current_session())
    kind = media_type or _guess_type(filename)
    token = files.registry.add_download(files, source, filename, kind)
    url = f"{files.session.base}{DOWNLOAD_PATH}/{token}"
    files.session.outbox.put(Download(type="download", url=url, filename=safe_filename(filename)))
    return url


def on_upload(widget: Any, callback: UploadCallback) -> str:
    """Deliver files posted for `widget` to `callback` on the session thread; returns the URL
    the widget's JavaScript posts each file to (`?name=<file name>`, the raw bytes as body).

    Any anywidget can take uploads this way; `Upload` is the built-in one.
    """
    files = files_of(current_session())
    files.targets[widget.model_id] = callback
    return files.upload_url(widget)


def _guess_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


_UNSAFE = {ord(c): "_" for c in '/\\:*?"<>|'}


def safe_filename(name: str, fallback: str = "upload") -> str:
    """A file name that names no directory: its last path part, without control characters
    or characters Windows refuses, at most 200 characters; `fallback` when nothing is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).translate(_UNSAFE).strip(" .")
    return name[:200] or fallback


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form, which
    every current browser prefers."""
    name = safe_filename(filename, "download")
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- the routes -------------------------------------------------------------------------------


def _refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status,
                        headers={"Cache-Control": "no-store"})


async def _owner_refusal(runtime: AppRuntime, request: Request,
                         session: Session) -> JSONResponse | None:
    reason = cross_site_reason(request)
    if reason is not None:
        logger.warning("refused a cross-site file request: %s", reason)
        return _refusal(403, "This file URL belongs to a page of this site.")
    identity = await runtime.identify(request, client_token(request))
    if identity is None or not hmac.compare_digest(identity.owner.encode(),
                                                   session.owner.encode()):
        return _refusal(403, "This file URL belongs to another browser's session.")
    return None


def _upload_route(registry: Files) -> Callable[[Request], Any]:
    async def upload(request: Request) -> Response:
        files = registry.sessions.get(request.path_params["token"])
        if files is None or files.closed:
            return _refusal(404, "This upload URL is not valid (the page's session has ended).")
        refused = await _owner_refusal(registry.runtime, request, files.session)
        if refused is not None:
            return refused
        target = files.targets.get(request.path_params["target"])
        if target is None:
            return _refusal(404, "No widget of this page takes uploads under that name.")
        return await receive(registry, files, target, request)

    return upload


def _too_large(limit: int) -> JSONResponse:
    return _refusal(413, f"The file is larger than this app accepts ({_megabytes(limit)}).")


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} MB"


async def receive(registry: Files, files: SessionFiles, target: UploadCallback,
                  request: Request) -> Response:
    """Stream the body into a spooled temporary file, hand it to the callback, remove it."""
    limit = registry.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(limit)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    files.receiving.add(spool)
    try:
        size = 0
        async for chunk in request.stream():
            if files.closed:
                return _refusal(410, "The page's session ended during the upload.")
            size += len(chunk)
            if size > limit:
                return _too_large(limit)
            spool.write(chunk)
        spool.seek(0)
        uploaded = UploadedFile(safe_filename(request.query_params.get("name", "")), size,
                                request.headers.get("content-type", "application/octet-stream"),
                                spool)
        return await _deliver(files, target, uploaded)
    finally:
        files.receiving.discard(spool)
        spool.close()


async def _deliver(files: SessionFiles, target: UploadCallback,
                   uploaded: UploadedFile) -> Response:
    try:
        ok = await files.session.call(lambda: _call_back(files.session, target, uploaded))
    except RuntimeError:
        return _refusal(410, "The page's session ended during the upload.")
    if not ok:
        return _refusal(500, "The app could not take the file. The error is logged.")
    return JSONResponse({"name": uploaded.name, "size": uploaded.size})


def _call_back(session: Session, target: UploadCallback, uploaded: UploadedFile) -> bool:
    try:
        target(uploaded)
    except Exception as exc:
        logger.exception("error in an upload callback of session %s", session.id[:6])
        session.send_error("callback_error", f"{type(exc).__name__}: {exc}" if session.dev
                           else "An error occurred in the app.")
        return False
    return True


def _download_route(registry: Files) -> Callable[[Request], Any]:
    async def download_file(request: Request) -> Response:
        token = request.path_params["token"]
        pending = registry.downloads.get(token)
        if pending is None or pending.expires_at < time.monotonic():
            registry.downloads.pop(token, None)
            return _refusal(404, "This download link has expired or was used already.")
        refused = await _owner_refusal(registry.runtime, request, pending.files.session)
        if refused is not None:
            return refused
        registry.downloads.pop(token, None)
        return file_response(pending.source, pending.filename, pending.media_type)

    return download_file


def file_response(source: Source, filename: str, media_type: str) -> Response:
    """The response that streams `source` (see `download`) as an attachment."""
    headers = {"Content-Disposition": content_disposition(filename),
               "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if isinstance(source, str):
        source = source.encode("utf-8")
    if isinstance(source, bytes | bytearray | memoryview):
        return Response(bytes(source), media_type=media_type, headers=headers)
    if isinstance(source, os.PathLike):
        return FileResponse(Path(source), media_type=media_type, headers=headers)
    if hasattr(source, "read"):  # a file object (iterable too, but by lines)
        return StreamingResponse(_chunks(cast(IO[bytes], source)), media_type=media_type,
                                 headers=headers)
    return StreamingResponse(source, media_type=media_type, headers=headers)


def _chunks(file: IO[bytes]) -> Iterable[bytes]:
    """A file object's bytes in chunks, closing it at the end (iterated in a worker thread)."""
    with file:
        while chunk := file.read(CHUNK_BYTES):
            yield chunk


UPLOAD_SLACK = 64 * 1024


def files_extension(runtime: AppRuntime) -> Extension:
    """Uploads and downloads for every session of the app (`settings.max_upload_bytes`)."""
    registry = Files(runtime, runtime.settings.max_upload_bytes)
    upload = _upload_route(registry)
    # The body budget (numerous.apps._limits) lets a file up to the app's limit through; the
    # route's own check answers first, with the message the upload widget shows.
    upload.max_body = runtime.settings.max_upload_bytes + UPLOAD_SLACK  # type: ignore[attr-defined]
    routes = [Route(f"{UPLOAD_PATH}/{{token}}/{{target}}", upload, methods=["POST"]),
              Route(f"{DOWNLOAD_PATH}/{{token}}", _download_route(registry), methods=["GET"])]
    return Extension(name="files", routes=routes, session_setup=registry.open, state=registry)


__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "Files", "SessionFiles", "UploadedFile",
           "content_disposition", "download", "file_response", "files_extension", "files_of",
           "on_upload", "safe_filename"]
