"""The HTTP/1.1 protocol the server runs: uvicorn's h11 one, with a bounded request head.

`uvicorn --http app.server:BoundedH11Protocol` (the Makefile, the Dockerfile and compose). A
request head (request line and headers) larger than `--h11-max-incomplete-event-size` bytes
(16 KiB unless set) gets a 431, and a connection whose head is not complete within
`HEAD_TIMEOUT_SECONDS` of its opening (or, on a kept-alive connection, of the head's first
bytes) is closed: a client can neither make a worker buffer megabytes of headers nor hold a
connection open by sending them slowly. Between requests, uvicorn's keep-alive timeout applies.
h11 alone refuses only an incomplete head over the limit, not a complete one that arrives in
one read. The head of a pipelined request (sent before the previous response is complete) is
bounded by h11's limit alone: uvicorn stops reading after one read of it (256 KiB at most).
"""

import asyncio
from http import HTTPStatus
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

MAX_HEAD_BYTES = 16 * 1024
HEAD_TIMEOUT_SECONDS = 10.0


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, refusing request heads that are too large or too slow."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head_bytes = config.h11_max_incomplete_event_size or MAX_HEAD_BYTES
        self.head_timer: asyncio.TimerHandle | None = None
        # Bytes of the request head being received, up to the limit.
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
        if self.conn.their_state is not h11.IDLE:
            # A body, or what a client sends before its previous response is complete.
            super().data_received(data)
            return
        self._start_head_timer()
        room = self.max_head_bytes - self.head_bytes
        self.head_bytes += min(len(data), room)
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE:
            # No complete head yet: refuse it once it has used up the room it has.
            if self.head_bytes >= self.max_head_bytes:
                self._refuse_large_head()
            return
        self._cancel_head_timer()
        self.head_bytes = 0
        if data[room:]:
            super().data_received(data[room:])

    def _start_head_timer(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.warning("Request head not complete within %s s.", HEAD_TIMEOUT_SECONDS)
            self.transport.close()

    def _refuse_large_head(self) -> None:
        """Answer 431 and close the connection, as uvicorn answers a malformed request."""
        self.logger.warning("Request head larger than %d bytes.", self.max_head_bytes)
        self._cancel_head_timer()
        status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        body = status.phrase.encode("ascii")
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
        ]
        response = h11.Response(status_code=status, headers=headers, reason=body)
        try:
            self.transport.write(self.conn.send(response))
            self.transport.write(self.conn.send(h11.Data(data=body)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError:  # pragma: no cover - h11 refused the response: just close
            pass
        self.transport.close()
