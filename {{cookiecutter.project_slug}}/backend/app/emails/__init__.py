"""Outgoing email: messages built from the templates in `templates/`, sent after the response.

A route queues an `Email` on the request's background tasks once the transaction that made its
token has committed: the client's answer never waits for the mail server, a request that
fails sends nothing, and a send that fails is retried, then given up with one WARNING that
names neither the address nor the token.
"""

import html
import logging
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from functools import cache
from pathlib import Path
from string import Template

from fastapi import BackgroundTasks

from app.core.config import LINK_TOKEN_FIELD, Settings
from app.models.user import User

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
# Waits between the attempts of a send that fails for a while (the server is down, busy, or
# answers 4xx): four attempts in all, over about 7 s. A 5xx answer is not tried again.
RETRY_DELAYS_SECONDS = (1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Email:
    """One email to one user: which template, to whom, and the link it carries."""

    template: str
    to: str
    user_id: str
    link: str
    valid_for: str


def password_reset_email(user: User, token: str, settings: Settings) -> Email:
    """The email with a link to choose a new password."""
    return Email(
        template="password_reset",
        to=user.email,
        user_id=str(user.id),
        link=settings.PASSWORD_RESET_URL.replace(LINK_TOKEN_FIELD, token),
        valid_for=_duration(settings.PASSWORD_RESET_EXPIRE_MINUTES, "minute"),
    )


def verification_email(user: User, token: str, settings: Settings) -> Email:
    """The email with a link that proves the address is the user's."""
    return Email(
        template="verify_email",
        to=user.email,
        user_id=str(user.id),
        link=settings.EMAIL_VERIFICATION_URL.replace(LINK_TOKEN_FIELD, token),
        valid_for=_duration(settings.EMAIL_VERIFICATION_EXPIRE_HOURS, "hour"),
    )


def queue_email(background: BackgroundTasks, email: Email, settings: Settings) -> None:
    """Send `email` once the response has been sent (and the request's work committed)."""
    background.add_task(send, email, settings)


def render(email: Email, settings: Settings) -> EmailMessage:
    """The message: the subject line and the plain-text and HTML bodies of its template."""
    values = _values(email, settings)
    escaped = {name: html.escape(value) for name, value in values.items()}
    subject, text = _subject_and_text(email.template, values)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((settings.PROJECT_NAME, settings.EMAIL_FROM))
    message["To"] = email.to
    message["Message-ID"] = make_msgid(domain=settings.EMAIL_FROM.rpartition("@")[2])
    message.set_content(text)
    message.add_alternative(_template(f"{email.template}.html").substitute(escaped), subtype="html")
    return message


def send(email: Email, settings: Settings) -> None:
    """Deliver `email`, retrying with backoff; without SMTP_HOST, log it instead (development)."""
    if not settings.SMTP_HOST:
        subject, _ = _subject_and_text(email.template, _values(email, settings))
        logger.info(
            "Email not sent (SMTP_HOST is unset): %r to user %s: %s",
            subject,
            email.user_id,
            email.link,
        )
        return
    attempts = len(RETRY_DELAYS_SECONDS) + 1
    for attempt, delay in enumerate((*RETRY_DELAYS_SECONDS, None), start=1):
        try:
            _deliver(render(email, settings), settings)
        except (smtplib.SMTPException, OSError, ValueError) as error:
            if delay is not None and not _refused_for_good(error):
                time.sleep(delay)
                continue
            # The error's text can quote the address: its type says enough.
            logger.warning(
                "Email %r to user %s not sent after %d of %d attempts: %s",
                email.template,
                email.user_id,
                attempt,
                attempts,
                type(error).__name__,
            )
        return


def _refused_for_good(error: Exception) -> bool:
    """Whether trying again cannot help: a 5xx answer, or an address the server cannot take
    (one that is not ASCII, to a server without SMTPUTF8)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, smtplib.SMTPNotSupportedError | ValueError)


def _deliver(message: EmailMessage, settings: Settings) -> None:
    timeout = settings.SMTP_TIMEOUT_SECONDS
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if settings.SMTP_SECURITY == "tls":
        client = smtplib.SMTP_SSL(
            settings.SMTP_HOST, settings.SMTP_PORT, timeout=timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=timeout)
    with client:
        if settings.SMTP_SECURITY == "starttls":
            client.starttls(context=context)
        if settings.SMTP_USERNAME:
            client.login(settings.SMTP_USERNAME, settings.SMTP_PASSWORD.get_secret_value())
        client.send_message(message)


def _duration(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _values(email: Email, settings: Settings) -> dict[str, str]:
    return {"project_name": settings.PROJECT_NAME, "link": email.link, "valid_for": email.valid_for}


def _subject_and_text(template: str, values: dict[str, str]) -> tuple[str, str]:
    """The subject (the `.txt` file's first line) and the plain-text body after it."""
    subject, _, text = _template(f"{template}.txt").substitute(values).partition("\n\n")
    return subject.removeprefix("Subject:").strip(), text


@cache
def _template(name: str) -> Template:
    """A template file, read once per process: restart the app after editing one."""
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))
