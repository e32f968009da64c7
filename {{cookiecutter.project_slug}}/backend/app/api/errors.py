"""The one place where errors become HTTP responses."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.core.errors import DomainError, EmailAlreadyRegistered, UserNotFound

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    EmailAlreadyRegistered: status.HTTP_409_CONFLICT,
    UserNotFound: status.HTTP_404_NOT_FOUND,
}
# When every pooled connection stayed busy for DB_POOL_TIMEOUT: how long a client should wait.
RETRY_AFTER_SECONDS = 1
# Request fields whose values must never be echoed back in an error body.
SENSITIVE_FIELDS = frozenset({"password"})
REDACTED = "[redacted]"


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: REDACTED if key in SENSITIVE_FIELDS else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def _redact_error(error: Mapping[str, Any]) -> dict[str, Any]:
    redacted = dict(error)
    location: Sequence[Any] = error.get("loc", ())
    if "input" in redacted:
        whole_body = tuple(location) == ("body",) and isinstance(redacted["input"], str | bytes)
        if whole_body or (location and location[-1] in SENSITIVE_FIELDS):
            redacted["input"] = REDACTED
        else:
            redacted["input"] = _redact(redacted["input"])
    return redacted


async def domain_error_handler(_request: Request, error: DomainError) -> JSONResponse:
    """Map a domain error to its status, with its message and stable code."""
    return JSONResponse(
        status_code=STATUS_BY_ERROR.get(type(error), status.HTTP_400_BAD_REQUEST),
        content={"detail": error.message, "code": error.code},
    )


async def validation_error_handler(
    _request: Request, error: RequestValidationError
) -> JSONResponse:
    """FastAPI's usual 422 body, minus any submitted secret."""
    errors = [_redact_error(item) for item in error.errors()]
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": jsonable_encoder(errors)},
    )


async def pool_timeout_handler(_request: Request, _error: PoolTimeoutError) -> JSONResponse:
    """No pooled connection became free in time: overload, not a bug, so a 503 to retry."""
    logger.warning("No database connection became free in time")
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content={"detail": "The service is busy; try again shortly.", "code": "service_busy"},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def unhandled_error_handler(request: Request, error: Exception) -> JSONResponse:
    """A generic 500 with the request id; the details go to the log, never to the client."""
    request_id = correlation_id.get()
    logger.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    headers = {REQUEST_ID_HEADER: request_id} if request_id else None
    return JSONResponse(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        content={"detail": "Internal server error", "request_id": request_id},
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler above on `app`."""
    app.exception_handler(DomainError)(domain_error_handler)
    app.exception_handler(RequestValidationError)(validation_error_handler)
    app.exception_handler(PoolTimeoutError)(pool_timeout_handler)
    # A handler for Exception runs in Starlette's outermost middleware, outside the request-id
    # middleware: that is why it sets the header itself.
    app.exception_handler(Exception)(unhandled_error_handler)
