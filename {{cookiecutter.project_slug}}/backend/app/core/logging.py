"""Logging: one format for the app and uvicorn, every line tagged with its request id."""

import logging.config

# `correlation_id` is the request id, set by asgi-correlation-id's filter ("-" outside a request).
LOG_FORMAT = "%(asctime)s %(levelname)s [%(correlation_id)s] %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Send every log line to stderr, tagged with the id of the request that produced it."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "request_id": {
                    "()": "asgi_correlation_id.CorrelationIdFilter",
                    "default_value": "-",
                }
            },
            "formatters": {"default": {"format": LOG_FORMAT}},
            "handlers": {
                "default": {
                    "class": "logging.StreamHandler",
                    "filters": ["request_id"],
                    "formatter": "default",
                }
            },
            "loggers": {
                name: {"handlers": ["default"], "level": level, "propagate": False}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            "root": {"handlers": ["default"], "level": level},
        }
    )
