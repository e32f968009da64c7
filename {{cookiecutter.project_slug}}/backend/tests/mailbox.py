"""A real SMTP server for the suite (aiosmtpd, in this process): the app's emails land here.

The `mailbox` fixture points the settings at it for one test and hands the test the messages
that arrived meanwhile. Other tests send no email: with no SMTP_HOST, the app logs them.
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

from app.core.config import get_settings

HOST = "127.0.0.1"
# aiosmtpd logs every SMTP command at INFO: the app's own log is what tests read.
logging.getLogger("mail.log").setLevel(logging.WARNING)
# Addresses the server refuses for good (550), as a real one refuses an unknown mailbox.
REFUSED_PREFIX = "refused-"
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

    async def handle_RCPT(  # noqa: N802
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]
    ) -> str:
        if address.startswith(REFUSED_PREFIX):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

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


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    """The SMTP server, started by the first test that reads email, for the whole session."""
    mailbox = Mailbox()
    # SMTPUTF8: addresses need not be ASCII (sign-up takes internationalised ones).
    controller = Controller(mailbox, hostname=HOST, port=PORT, enable_SMTPUTF8=True)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox, monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    """The messages the app sends during this test, through the suite's SMTP server."""
    settings = get_settings()
    monkeypatch.setattr(settings, "SMTP_HOST", HOST)
    monkeypatch.setattr(settings, "SMTP_PORT", PORT)
    monkeypatch.setattr(settings, "SMTP_SECURITY", "none")
    smtp_server.clear()
    return smtp_server
