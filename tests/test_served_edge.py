"""The served project's HTTP edge: bounded request heads, security headers and CORS.

Driven with raw sockets where an HTTP client would not misbehave the way an attacker does.
"""

from __future__ import annotations

import contextlib
import socket
import time
from urllib.parse import urlsplit

import httpx2

from tests.conftest import SERVED_CORS_ORIGIN, Served, each_combination
from tests.test_replicas import only

HEAD_LIMIT = 16 * 1024
HEAD_TIMEOUT = 10
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def connect(served: Served) -> socket.socket:
    address = urlsplit(served.url)
    assert address.hostname is not None
    assert address.port is not None
    return socket.create_connection((address.hostname, address.port), timeout=5)


def read_until_closed(connection: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    received = b""
    connection.settimeout(timeout)
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass  # closed with our unread head still in its buffer: closed all the same
    except TimeoutError:
        pass  # still open: the caller's assertions on the time taken say so
    return received, time.monotonic() - started


def head_with_header_of(size: int) -> bytes:
    start = b"GET /health HTTP/1.1\r\nHost: served\r\nConnection: close\r\nX-Padding: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


@each_combination
def test_a_request_head_over_16_kib_is_refused_and_the_worker_serves_on(served: Served) -> None:
    with connect(served) as connection:
        # One write: the whole head may reach the server in one read.
        # The server may refuse before the whole head is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(head_with_header_of(20 * 1024))
        refused, waited = read_until_closed(connection, timeout=15)
    with connect(served) as connection:
        connection.sendall(head_with_header_of(HEAD_LIMIT - 512))
        accepted, _ = read_until_closed(connection, timeout=15)
    after = httpx2.get(f"{served.url}/health", timeout=10)

    assert refused == b"" or refused.startswith(b"HTTP/1.1 431 "), refused[:200]
    assert waited < 15  # closed by the server, not by our own timeout
    assert accepted.startswith(b"HTTP/1.1 200 "), accepted[:200]
    assert after.status_code == 200


@each_combination
def test_a_head_sent_in_small_pieces_is_refused_past_16_kib(served: Served) -> None:
    head = head_with_header_of(20 * 1024)
    with connect(served) as connection:
        # Each piece alone is small: the bound counts the head, not one read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for start in range(0, len(head), 1024):
                connection.sendall(head[start : start + 1024])
                time.sleep(0.005)
        refused, waited = read_until_closed(connection, timeout=15)

    assert refused == b"" or refused.startswith(b"HTTP/1.1 431 "), refused[:200]
    assert waited < 15


@each_combination
def test_pipelined_requests_over_16_kib_in_all_are_each_served(served: Served) -> None:
    # 40 small requests in one write: 16 KiB is a bound on one head, not on a read.
    one = b"GET /health HTTP/1.1\r\nHost: served\r\nX-Padding: " + b"a" * 400 + b"\r\n\r\n"
    last = b"GET /health HTTP/1.1\r\nHost: served\r\nConnection: close\r\n\r\n"
    with connect(served) as connection:
        connection.sendall(one * 40 + last)
        received, _ = read_until_closed(connection, timeout=15)

    assert len(one * 40) > HEAD_LIMIT
    assert received.count(b"HTTP/1.1 200 ") == 41, received[:300]


# Ten seconds of waiting each: the head timeout is the server protocol's (app.server), the same
# in every combination; one per mode.
@only("sqlite-uuid-sync", "postgresql-int-async")
def test_a_half_sent_head_is_closed_within_the_head_timeout(served: Served) -> None:
    with connect(served) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: served\r\n")
        received, waited = read_until_closed(connection, timeout=HEAD_TIMEOUT + 5)

    assert received == b""
    assert waited < HEAD_TIMEOUT + 5  # closed by the server, not by our own timeout
    assert httpx2.get(f"{served.url}/health", timeout=10).status_code == 200


@each_combination
def test_security_headers_on_success_and_on_errors(served: Served) -> None:
    with httpx2.Client(base_url=served.url, timeout=30) as client:
        ok = client.get("/health")
        missing = client.get("/no-such-path")
        too_large = client.post(
            "/users", content=b"x" * (1024 * 1024), headers={"Content-Type": "application/json"}
        )

    assert [response.status_code for response in (ok, missing, too_large)] == [200, 404, 413]
    for response in (ok, missing, too_large):
        assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
        # The served project runs in development: no HSTS on plain http://127.0.0.1.
        assert "strict-transport-security" not in response.headers


@each_combination
def test_cors_preflights_succeed_for_the_listed_origin_only(served: Served) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    with httpx2.Client(base_url=served.url, timeout=30) as client:
        listed = client.options("/users", headers={"Origin": SERVED_CORS_ORIGIN, **preflight})
        other = client.options(
            "/users", headers={"Origin": "https://evil.example.com", **preflight}
        )
        simple_other = client.get("/health", headers={"Origin": "https://evil.example.com"})

    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == SERVED_CORS_ORIGIN
    assert "POST" in listed.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in listed.headers
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in simple_other.headers
