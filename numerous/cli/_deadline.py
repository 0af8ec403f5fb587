"""A deadline for request headers: uvicorn's HTTP protocol with a timer per request.

uvicorn times out idle kept-alive connections (`timeout_keep_alive`), but arms that timer only
after a response, and any byte received cancels it: a client that connects and sends nothing,
or sends its headers a byte every few seconds, holds its connection (a socket and a file
descriptor) for as long as it likes, and a few hundred such clients use up the process's
descriptors. Here every request must have sent its complete headers within `timeout_headers`
seconds of its first byte (of the connection, for the first request), or the connection is
closed. Bodies are not timed: the app reads them at its own pace.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def header_deadline(seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a header deadline of `seconds`, for `Config(http=)`."""
    return type("HeaderDeadlineProtocol", (HeaderDeadline,), {"timeout_headers": seconds})


class HeaderDeadline(HttpToolsProtocol):
    """Closes the connection when a request's headers are not complete in time."""

    timeout_headers = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:  # noqa: ANN401 - uvicorn's signature
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            self._arm()  # the next request has begun (or stray bytes between requests)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.timeout_headers, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()
