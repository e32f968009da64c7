"""The ASGI application factory: `uvicorn --factory app.main:create_app`."""

import re

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.middleware.cors import CORSMiddleware

from app.api.docs import add_redoc
from app.api.errors import REQUEST_ID_HEADER, install_error_handlers
from app.api.middleware import (
    CORS_HEADERS,
    CORS_METHODS,
    RequestBodyGuard,
    SecurityHeaders,
    UnhandledErrors,
)
from app.api.router import api_router
from app.core.config import Settings, get_settings
from app.core.logging import configure_logging

DOCS_STATIC_URL = "/docs/static"
# Ids a client or a proxy may pass in; anything else is replaced by a fresh one.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,128}")


def is_valid_request_id(value: str) -> bool:
    """Accept letters, digits, `-`, `_` and `.`, at most 128 characters."""
    return REQUEST_ID_PATTERN.fullmatch(value) is not None


def operation_id(route: APIRoute) -> str:
    """`users-get_user` rather than `get_user_users__user_id__get`: generated clients read well."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application from `settings`, by default the process's."""
    settings = settings or get_settings()
    configure_logging(settings.LOG_LEVEL)
    if settings.docs_enabled:
        # /docs and /redoc load their scripts and styles from this app, not from a CDN.
        app = FastAPIOffline(
            title=settings.PROJECT_NAME,
            static_url=DOCS_STATIC_URL,
            redoc_url=None,
            generate_unique_id_function=operation_id,
        )
        add_redoc(app, static_url=DOCS_STATIC_URL)
    else:
        # Without a schema there are no /docs and /redoc either.
        app = FastAPI(title=settings.PROJECT_NAME, openapi_url=None)
    # Added innermost first: the request id wraps everything, so every response and every log
    # line carries it, the 500s included; the security headers wrap even that.
    app.add_middleware(RequestBodyGuard, max_bytes=settings.MAX_REQUEST_BODY_BYTES)
    app.add_middleware(UnhandledErrors)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(
        CorrelationIdMiddleware, header_name=REQUEST_ID_HEADER, validator=is_valid_request_id
    )
    app.add_middleware(
        SecurityHeaders, strict_transport_security=settings.ENVIRONMENT == "production"
    )
    install_error_handlers(app)
    app.include_router(api_router)
    return app
