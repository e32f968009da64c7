"""The one place where errors become HTTP responses."""

import logging
from collections import defaultdict
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from app.core.errors import (
    Conflict,
    DomainError,
    EmailUnverified,
    Forbidden,
    InvalidCredentials,
    InvalidRequest,
    InvalidResetToken,
    InvalidToken,
    InvalidVerificationToken,
    NotAuthenticated,
    NotFound,
    ReauthenticationRequired,
    TooManyAttempts,
    UnsupportedGrantType,
    UserInactive,
    WrongPassword,
)
from app.schemas.errors import ErrorResponse, TokenErrorResponse
from app.schemas.user import password_too_common

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# An error takes its own entry's status, or its nearest base class's (`status_of`): a subclass
# of `NotFound` or `Conflict` needs no entry of its own.
STATUS_BY_ERROR: dict[type[DomainError], int] = {
    Conflict: status.HTTP_409_CONFLICT,
    EmailUnverified: status.HTTP_400_BAD_REQUEST,
    Forbidden: status.HTTP_403_FORBIDDEN,
    InvalidCredentials: status.HTTP_401_UNAUTHORIZED,
    InvalidRequest: status.HTTP_400_BAD_REQUEST,
    InvalidResetToken: status.HTTP_400_BAD_REQUEST,
    InvalidToken: status.HTTP_401_UNAUTHORIZED,
    InvalidVerificationToken: status.HTTP_400_BAD_REQUEST,
    NotAuthenticated: status.HTTP_401_UNAUTHORIZED,
    NotFound: status.HTTP_404_NOT_FOUND,
    ReauthenticationRequired: status.HTTP_403_FORBIDDEN,
    TooManyAttempts: status.HTTP_429_TOO_MANY_REQUESTS,
    UnsupportedGrantType: status.HTTP_400_BAD_REQUEST,
    UserInactive: status.HTTP_403_FORBIDDEN,
    WrongPassword: status.HTTP_400_BAD_REQUEST,
}
# The token endpoint answers as RFC 6749 (section 5.2) says: 400 and an `error` a generic OAuth2
# client understands, besides this API's `detail` and `code`. Throttling keeps its 429.
OAUTH_ERROR_BY_ERROR: dict[type[DomainError], str] = {
    EmailUnverified: "invalid_grant",
    InvalidCredentials: "invalid_grant",
    InvalidRequest: "invalid_request",
    InvalidToken: "invalid_grant",
    TooManyAttempts: "invalid_grant",
    UnsupportedGrantType: "unsupported_grant_type",
    UserInactive: "invalid_grant",
}
# What any route that needs a logged-in caller may answer, and one for superusers only.
AUTHENTICATION_ERRORS = (NotAuthenticated, InvalidToken, UserInactive)
SUPERUSER_ERRORS = (*AUTHENTICATION_ERRORS, Forbidden)
# RFC 6749, section 5.1: nothing on the way may keep a response that carries a token.
NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# RFC 6750: a 401 names the scheme the client should authenticate with.
AUTHENTICATE_HEADERS = {"WWW-Authenticate": "Bearer"}
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# How long a client should wait after a 503 before trying again.
RETRY_AFTER_SECONDS = 1
# What a validation error may show: never the submitted value (`input`) nor the rule's
# parameters (`ctx`), so an error body stays small and carries no secret, whatever was sent.
VALIDATION_ERROR_FIELDS = ("type", "loc", "msg")

SERVICE_BUSY = {"detail": "The service is busy; try again shortly.", "code": "service_busy"}
DATABASE_UNAVAILABLE = {
    "detail": "The database is unavailable; try again shortly.",
    "code": "database_unavailable",
}


def status_of(error: type[DomainError]) -> int:
    """The status of an error class: its own in STATUS_BY_ERROR, or its nearest base's; 400
    for a `DomainError` that names none."""
    for kind in error.__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return status.HTTP_400_BAD_REQUEST


def error_response(error: DomainError) -> JSONResponse:
    """The response for a domain error: its status, message and stable code."""
    status_code = status_of(type(error))
    return JSONResponse(
        status_code=status_code,
        content={"detail": error.message, "code": error.code},
        headers=_error_headers(error, status_code),
    )


def token_error_response(error: DomainError) -> JSONResponse:
    """The token endpoint's answer to a domain error (RFC 6749, section 5.2)."""
    status_code, body = _token_error(type(error), error.message)
    headers = {**NO_STORE_HEADERS, **(_error_headers(error, status_code) or {})}
    return JSONResponse(status_code=status_code, content=body, headers=headers)


def _token_error(error: type[DomainError], message: str) -> tuple[int, dict[str, str]]:
    status_code = (
        status.HTTP_429_TOO_MANY_REQUESTS
        if error is TooManyAttempts
        else status.HTTP_400_BAD_REQUEST
    )
    body = {
        "error": OAUTH_ERROR_BY_ERROR[error],
        "error_description": message,
        "detail": message,
        "code": error.code,
    }
    return status_code, body


def _error_headers(error: DomainError, status_code: int) -> dict[str, str] | None:
    if isinstance(error, TooManyAttempts):
        return {"Retry-After": str(error.retry_after)}
    if status_code == status.HTTP_401_UNAUTHORIZED:
        return AUTHENTICATE_HEADERS
    return None


def _documented(description: str, examples: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "model": ErrorResponse,
        "description": description,
        "content": {
            "application/json": {
                "examples": {name: {"value": body} for name, body in examples.items()}
            }
        },
    }


def error_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the domain errors a route can answer with, by status."""
    by_status: defaultdict[int, list[type[DomainError]]] = defaultdict(list)
    for error in errors:
        by_status[status_of(error)].append(error)
    return {
        status_code: _documented(
            ", ".join(f"`{error.code}`" for error in group),
            {error.code: {"detail": error.message, "code": error.code} for error in group},
        )
        for status_code, group in sorted(by_status.items())
    }


def token_error_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the token endpoint's errors, in RFC 6749's shape."""
    by_status: defaultdict[int, dict[str, dict[str, str]]] = defaultdict(dict)
    for error in errors:
        status_code, body = _token_error(error, error.message)
        by_status[status_code][error.code] = body
    return {
        status_code: {
            **_documented(", ".join(f"`{code}`" for code in examples), examples),
            "model": TokenErrorResponse,
        }
        for status_code, examples in sorted(by_status.items())
    }


# What any route may answer, whatever it does: documented once, on the whole API.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_413_CONTENT_TOO_LARGE: _documented(
        "`request_too_large`: the body exceeds MAX_REQUEST_BODY_BYTES",
        {
            "request_too_large": {
                "detail": "The request body is too large.",
                "code": "request_too_large",
            }
        },
    ),
    status.HTTP_500_INTERNAL_SERVER_ERROR: _documented(
        "`internal_error`: a bug; quote the `X-Request-ID` header when reporting it",
        {"internal_error": {"detail": "Internal server error", "code": "internal_error"}},
    ),
    status.HTTP_503_SERVICE_UNAVAILABLE: _documented(
        "`service_busy`, `database_unavailable`: retry after `Retry-After` seconds",
        {"service_busy": SERVICE_BUSY, "database_unavailable": DATABASE_UNAVAILABLE},
    ),
}


def password_too_common_error(field: str) -> RequestValidationError:
    """The 422 for a new password that is common or the account's own email, checked by a
    route because the body does not carry the email."""
    error = password_too_common()
    return RequestValidationError(
        [{"type": error.type, "loc": ("body", field), "msg": error.message()}]
    )


def validation_error_body(errors: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    """FastAPI's 422 body, without the submitted values."""
    return {
        "detail": [
            {field: error[field] for field in VALIDATION_ERROR_FIELDS if field in error}
            for error in errors
        ]
    }


def request_too_large_response(max_bytes: int) -> JSONResponse:
    """413, before the body was parsed."""
    return JSONResponse(
        status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        content={
            "detail": f"The request body is too large (at most {max_bytes} bytes).",
            "code": "request_too_large",
        },
    )


def internal_error_response() -> JSONResponse:
    """A generic 500 with the request id; the details go to the log, never to the client."""
    return JSONResponse(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        content={
            "detail": "Internal server error",
            "code": "internal_error",
            "request_id": correlation_id.get(),
        },
    )


def unavailable_response(body: dict[str, str]) -> JSONResponse:
    """503 with the time to wait before retrying."""
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        content=body,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def domain_error_handler(_request: Request, error: DomainError) -> JSONResponse:
    """Map a domain error to its status, with its message and stable code."""
    return error_response(error)


async def validation_error_handler(
    _request: Request, error: RequestValidationError
) -> JSONResponse:
    """FastAPI's usual 422 body, minus the submitted values."""
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content=validation_error_body(error.errors()),
    )


async def http_error_handler(request: Request, error: HTTPException) -> JSONResponse:
    """Errors of the framework itself, in the API's shape: `{"detail", "code"}`.

    A body the framework cannot parse (a broken multipart form) is a 422 like any other
    malformed input; a 405 lists every method the path has, not just the first route's.
    """
    if error.status_code == status.HTTP_400_BAD_REQUEST:
        problem = {"type": "body_invalid", "loc": ["body"], "msg": str(error.detail)}
        return JSONResponse(validation_error_body([problem]), status.HTTP_422_UNPROCESSABLE_CONTENT)
    headers = dict(error.headers or {})
    if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(sorted(allowed_methods(request)))
    code = HTTPStatus(error.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    return JSONResponse(
        {"detail": str(error.detail), "code": code}, error.status_code, headers=headers or None
    )


def allowed_methods(request: Request) -> set[str]:
    """Every method some route serves at the request's path."""
    return {
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    }


async def pool_timeout_handler(_request: Request, _error: PoolTimeoutError) -> JSONResponse:
    """No pooled connection became free in time: overload, not a bug, so a 503 to retry."""
    logger.warning("No database connection became free in time")
    return unavailable_response(SERVICE_BUSY)


async def database_error_handler(
    request: Request, error: OperationalError | InterfaceError
) -> JSONResponse:
    """The database is down, refused, timed out or locked: a 503 to retry, and one log line.

    The line names the driver's error class only: its message can carry the statement, its
    parameters or the server's address.
    """
    driver_error = type(error.orig).__name__ if error.orig is not None else "-"
    logger.warning(
        "Database unavailable on %s %s: %s (%s)",
        request.method,
        request.url.path,
        type(error).__name__,
        driver_error,
    )
    return unavailable_response(DATABASE_UNAVAILABLE)


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler above on `app`."""
    app.exception_handler(DomainError)(domain_error_handler)
    app.exception_handler(HTTPException)(http_error_handler)
    app.exception_handler(RequestValidationError)(validation_error_handler)
    app.exception_handler(PoolTimeoutError)(pool_timeout_handler)
    app.exception_handler(OperationalError)(database_error_handler)
    app.exception_handler(InterfaceError)(database_error_handler)
