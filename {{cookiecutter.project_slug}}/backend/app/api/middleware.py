"""ASGI middleware: security headers, the request body guard and the last-resort error handler."""

import logging

from fastapi import status
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import (
    internal_error_response,
    request_too_large_response,
    validation_error_body,
)

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPES = ("application/json", "application/merge-patch+json")
# On every response: no MIME sniffing, no Referer to other sites, no framing (clickjacking).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Browsers keep to HTTPS for two years once they have seen it: production only, which is served
# over HTTPS (a TLS proxy in front), never a developer's http://127.0.0.1.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"
# What a browser on an origin in CORS_ORIGINS may send: the API's methods and request headers.
CORS_METHODS = ("GET", "POST", "PATCH")
CORS_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")


class SecurityHeaders:
    """Add `SECURITY_HEADERS` (and HSTS if asked) to every response, errors included."""

    def __init__(self, app: ASGIApp, *, strict_transport_security: bool) -> None:
        self.app = app
        self.headers = dict(SECURITY_HEADERS)
        if strict_transport_security:
            self.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestBodyGuard:
    """Refuse a body above `max_bytes` (413) and a JSON body that is not UTF-8 (422).

    The body is read here, before any parsing, whether or not the client declared its length
    (chunked uploads): a request never costs more memory than `max_bytes`. The app then reads
    it from memory.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await request_too_large_response(self.max_bytes)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        message: Message = {"type": "http.request", "body": b"", "more_body": True}
        while message.get("more_body", False):
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: the app sees the disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await request_too_large_response(self.max_bytes)(scope, receive, send)
                return
            chunks.append(chunk)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        if body and content_type.startswith(JSON_CONTENT_TYPES) and not _is_utf8(body):
            error = {"type": "json_invalid", "loc": ["body"], "msg": "JSON must be UTF-8 text"}
            response = JSONResponse(
                validation_error_body([error]), status.HTTP_422_UNPROCESSABLE_CONTENT
            )
            await response(scope, receive, send)
            return
        pending: Message | None = (
            {"type": "http.request", "body": body, "more_body": False}
            if message["type"] == "http.request"
            else message
        )

        async def replay() -> Message:
            nonlocal pending
            if pending is None:
                return await receive()
            next_message, pending = pending, None
            return next_message

        await self.app(scope, replay, send)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class UnhandledErrors:
    """Answer an unexpected exception with a generic 500, and log it once, here.

    Inside the request-id middleware, so the log line and the response carry the request id;
    nothing reaches Starlette's own error middleware, which would log the traceback again.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("Unhandled error on %s %s", scope["method"], scope["path"])
            if not started:
                await internal_error_response()(scope, receive, send)
