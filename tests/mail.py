"""A real SMTP server (aiosmtpd) in the test process, for the served projects' emails.

One per process, started on first use: every project `serving` starts sends its mail here, and
a test reads the messages to its own addresses. A test may start a server of its own, and read
it through the part of Mailpit's HTTP API that the generated README uses.
"""

from __future__ import annotations

import atexit
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)
LINK_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")


class Mailbox:
    """The messages received, in order; aiosmtpd calls `handle_DATA` once per message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str, subject: str = "") -> list[EmailMessage]:
        """The messages to `address` whose subject contains `subject`."""
        with self.lock:
            return [
                message
                for message in self.messages
                if message["To"] == address and subject in message["Subject"]
            ]

    def wait(self, address: str, subject: str, count: int = 1, timeout: float = 10) -> None:
        """Wait until `count` messages to `address` about `subject` have arrived: a served app
        sends them after its response."""
        deadline = time.monotonic() + timeout
        while len(self.to(address, subject)) < count:
            assert time.monotonic() < deadline, f"no email about {subject!r} reached {address}"
            time.sleep(0.02)

    def token(self, address: str, subject: str, count: int = 1) -> str:
        """The token in the link of the `count`th message to `address` about `subject`."""
        self.wait(address, subject, count)
        sent = self.to(address, subject)
        body = sent[-1].get_body(preferencelist=("plain",))
        assert body is not None
        found = LINK_TOKEN.search(body.get_content())
        assert found is not None
        return found.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@cache
def smtp_server() -> tuple[Mailbox, int]:
    """The process's SMTP server and its port, started on first use."""
    mailbox, port, controller = start_smtp_server()
    atexit.register(controller.stop)
    return mailbox, port


def start_smtp_server() -> tuple[Mailbox, int, Controller]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    return mailbox, port, controller


def smtp_env(port: int | None = None) -> dict[str, str]:
    """A served project's settings to send its mail to `smtp_server` (or to `port`)."""
    if port is None:
        _, port = smtp_server()
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none"}


@contextmanager
def mailpit() -> Iterator[tuple[int, int]]:
    """An SMTP server of the test's own, and `GET /api/v1/message/latest` of Mailpit's API over
    what it received (the message's `Subject`, `To` and `Text`, 404 before the first one):
    the SMTP and the HTTP port."""
    mailbox, smtp_port, controller = start_smtp_server()

    class LatestMessage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with mailbox.lock:
                latest = mailbox.messages[-1] if mailbox.messages else None
            if self.path != "/api/v1/message/latest" or latest is None:
                self.send_error(404)
                return
            text = latest.get_body(preferencelist=("plain",))
            body = json.dumps(
                {
                    "Subject": latest["Subject"],
                    "To": [{"Address": latest["To"], "Name": ""}],
                    "Text": text.get_content() if text is not None else "",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    api = ThreadingHTTPServer(("127.0.0.1", 0), LatestMessage)
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    try:
        yield smtp_port, api.server_address[1]
    finally:
        api.shutdown()
        api.server_close()
        controller.stop()
