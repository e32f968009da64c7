"""The one place where errors become HTTP responses."""

import logging
from collections import defaultdict
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.core.errors import (
    DomainError,
    EmailAlreadyRegistered,
    Forbidden,
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
    UserInactive,
    UserNotFound,
)
from app.schemas.errors import ErrorResponse

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    EmailAlreadyRegistered: status.HTTP_409_CONFLICT,
    Forbidden: status.HTTP_403_FORBIDDEN,
    InvalidCredentials: status.HTTP_401_UNAUTHORIZED,
    InvalidToken: status.HTTP_401_UNAUTHORIZED,
    NotAuthenticated: status.HTTP_401_UNAUTHORIZED,
    UserInactive: status.HTTP_403_FORBIDDEN,
    UserNotFound: status.HTTP_404_NOT_FOUND,
}
# RFC 6750: a 401 names the scheme the client should authenticate with.
AUTHENTICATE_HEADERS = {"WWW-Authenticate": "Bearer"}
# When every pooled connection stayed busy for DB_POOL_TIMEOUT: how long a client should wait.
RETRY_AFTER_SECONDS = 1
# What a validation error may show: never the submitted value (`input`) nor the rule's
# parameters (`ctx`), so an error body stays small and carries no secret, whatever was sent.
VALIDATION_ERROR_FIELDS = ("type", "loc", "msg")


def error_response(error: DomainError) -> JSONResponse:
    """The response for a domain error: its status, message and stable code."""
    status_code = STATUS_BY_ERROR.get(type(error), status.HTTP_400_BAD_REQUEST)
    headers = AUTHENTICATE_HEADERS if status_code == status.HTTP_401_UNAUTHORIZED else None
    return JSONResponse(
        status_code=status_code,
        content={"detail": error.message, "code": error.code},
        headers=headers,
    )


def error_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the domain errors a route can answer with, by status."""
    by_status: defaultdict[int, list[type[DomainError]]] = defaultdict(list)
    for error in errors:
        by_status[STATUS_BY_ERROR[error]].append(error)
    return {
        status_code: {
            "model": ErrorResponse,
            "description": ", ".join(f"`{error.code}`" for error in group),
            "content": {
                "application/json": {
                    "examples": {
                        error.code: {"value": {"detail": error.message, "code": error.code}}
                        for error in group
                    }
                }
            },
        }
        for status_code, group in sorted(by_status.items())
    }


async def domain_error_handler(_request: Request, error: DomainError) -> JSONResponse:
    """Map a domain error to its status, with its message and stable code."""
    return error_response(error)


async def validation_error_handler(
    _request: Request, error: RequestValidationError
) -> JSONResponse:
    """FastAPI's usual 422 body, minus the submitted values."""
    errors = [
        {field: item[field] for field in VALIDATION_ERROR_FIELDS if field in item}
        for item in error.errors()
    ]
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
