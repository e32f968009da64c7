"""A real SMTP server for the suite (aiosmtpd, in this process): the app's emails land here.

`tests/database.py` points SMTP_HOST and SMTP_PORT at it before the settings are read; the
`mailbox` fixture hands a test the messages that arrived while it ran.
"""

import logging
import re
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
# aiosmtpd logs every SMTP command at INFO: the app's own log is what tests read.
logging.getLogger("mail.log").setLevel(logging.WARNING)
# The token in a link: what `secrets.token_urlsafe` spells.
LINK_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")


def unused_port() -> int:
    """A TCP port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


PORT = unused_port()


class Mailbox:
    """What the server received, in order; aiosmtpd calls `handle_DATA` once per message."""

    def __init__(self) -> None:
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message received since the last `clear`."""
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        """Forget what was received."""
        with self._lock:
            self._messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        """The messages to `address`."""
        return [message for message in self.messages if message["To"] == address]

    def token(self, address: str, subject: str) -> str:
        """The token in the link of the last message to `address` whose subject has `subject`."""
        sent = [message for message in self.to(address) if subject in message["Subject"]]
        assert sent, f"no email about {subject!r} was sent to {address}"
        text = sent[-1].get_body(preferencelist=("plain",))
        assert text is not None
        found = LINK_TOKEN.search(text.get_content())
        assert found is not None
        return found.group(1)


@pytest.fixture(scope="session", autouse=True)
def smtp_server() -> Iterator[Mailbox]:
    """The SMTP server, running for the whole session: any test may make the app send mail."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname=HOST, port=PORT)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    """The messages sent during this test."""
    smtp_server.clear()
    return smtp_server
