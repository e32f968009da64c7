"""The HTTP/1.1 protocol the server runs: uvicorn's httptools one, with a bounded request head.

`uvicorn --http app.server:BoundedHttpToolsProtocol` (the Makefile, the Dockerfile and compose).
A request head (request line and headers) larger than `MAX_HEAD_BYTES` gets a 431, and a
connection whose head is not complete within `HEAD_TIMEOUT_SECONDS` of its opening (or, on a
kept-alive connection, of the head's first bytes) is closed: a client can neither make a worker
buffer megabytes of headers nor hold a connection open by sending them slowly. Between requests,
uvicorn's keep-alive timeout applies. The parser (llhttp) sets no limit of its own. The head of a
pipelined request (sent before the previous one is complete) that arrives in the same read as
that request is bounded by the read: 256 KiB at most.

httptools, not h11: parsing in C costs a request about 0.1 ms less CPU than h11 in pure Python.
"""

import asyncio
from http import HTTPStatus
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

MAX_HEAD_BYTES = 16 * 1024
HEAD_TIMEOUT_SECONDS = 10.0


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing request heads that are too large or too slow."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_timer: asyncio.TimerHandle | None = None
        # Whether the next bytes belong to a request head, and how many of them arrived so far.
        self.reading_head = True
        self.head_bytes = 0

    def connection_made(  # type: ignore[override]  # uvicorn's own signature
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.reading_head:
            # A body, or what a client sends before its previous response is complete.
            super().data_received(data)
            return
        self._start_head_timer()
        room = MAX_HEAD_BYTES - self.head_bytes
        self.head_bytes += min(len(data), room)
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self.reading_head and self.head_bytes >= MAX_HEAD_BYTES:
            # The head has used up its room and is still not complete.
            self._refuse_large_head()
            return
        if data[room:]:
            super().data_received(data[room:])

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # What follows is the next request's head.
        self.reading_head = True

    def _start_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.reading_head and not self.transport.is_closing():
            self.logger.warning("Request head not complete within %s s.", HEAD_TIMEOUT_SECONDS)
            self.transport.close()

    def _refuse_large_head(self) -> None:
        """Answer 431 and close the connection, as uvicorn answers a malformed request."""
        self.logger.warning("Request head larger than %d bytes.", MAX_HEAD_BYTES)
        self._cancel_head_timer()
        status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        body = status.phrase.encode("ascii")
        self.transport.write(
            b"".join(
                (
                    f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode("ascii"),
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: %d\r\n" % len(body),
                    b"connection: close\r\n\r\n",
                    body,
                )
            )
        )
        self.transport.close()
