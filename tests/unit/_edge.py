"""Helpers for the tests of the HTTP edge: raw HTTP/1.1 over a socket (chunked bodies, headers
sent slowly), an app served by uvicorn as `numerous run` configures it, and the server's RSS
sampled while a request runs."""

from __future__ import annotations

import select
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import uvicorn

from numerous.apps.testing import free_port
from numerous.cli._serve import server_config

HOST = "127.0.0.1"


@contextmanager
def running(app: Any, **options: Any) -> Iterator[int]:
    """Serve `app` in a thread with the configuration `numerous run` uses; yields the port."""
    port = free_port()
    options.setdefault("log_level", "warning")
    config = server_config(app, HOST, port, log_config=None, **options)
    server = uvicorn.Server(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        config.load()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(15)


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


def read_response(sock: socket.socket, timeout: float = 10.0) -> tuple[int, dict[str, str],
                                                                       bytes]:
    """Status, headers (lower-case names) and as much of the body as arrived before the
    server closed the connection or stopped sending for a moment."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head, "the server closed the connection without an answer"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def post_chunked(port: int, path: str, chunk: bytes, total: int,
                 headers: dict[str, str] | None = None, first: bytes = b"",
                 last: bytes = b"", method: str = "POST") -> tuple[int, int, bytes]:
    """POST `first`, `chunk` until `total` bytes, then `last`, as a chunked body (no
    Content-Length), stopping early when the server answers or closes. Returns the status,
    the bytes sent and the answer's body."""
    head = {"Host": f"{HOST}:{port}", "Transfer-Encoding": "chunked",
            "Content-Type": "application/json", **(headers or {})}
    sent = 0
    with connect(port) as sock:
        sock.sendall(request_head(method, path, head))
        try:
            if first:
                sock.sendall(_chunk(first))
            frame = _chunk(chunk)
            while sent < total and not _readable(sock):
                sock.sendall(frame)
                sent += len(chunk)
            if sent >= total:
                sock.sendall((_chunk(last) if last else b"") + b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = read_response(sock)
    return status, sent, body


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _readable(sock: socket.socket) -> bool:
    return bool(select.select([sock], [], [], 0)[0])


class PeakRSS:
    """The largest resident set size of this process while the block runs, sampled every
    5 ms (the server runs in a thread of it)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(5)
