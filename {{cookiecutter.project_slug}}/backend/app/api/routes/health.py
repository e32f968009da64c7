"""Liveness and readiness probes."""

import logging

import anyio
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
{%- else %}
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
{%- endif %}

from app.api.deps import EngineDep
from app.schemas.health import Health, Readiness

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/health", tags=["health"])

READINESS_TIMEOUT_SECONDS = 2.0


@router.get("")
async def health() -> Health:
    """The process is up. Touches no database, so a database outage never restarts the app."""
    return Health()


{% if cookiecutter.sqlalchemy_mode == "async" -%}
async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        # A probe only reads: on SQLite it waits for no writer (`app.db.sqlite.READ_ONLY`).
        await connection.execution_options(read_only=True)
        await connection.execute(text("SELECT 1"))
{%- else -%}
def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        # A probe only reads: on SQLite it waits for no writer (`app.db.sqlite.READ_ONLY`).
        connection.execution_options(read_only=True)
        connection.execute(text("SELECT 1"))
{%- endif %}


@router.get(
    "/ready",
    response_model=Readiness,
    responses={
        status.HTTP_503_SERVICE_UNAVAILABLE: {
            "model": Readiness,
            "description": "The database is unreachable: `unavailable`",
        }
    },
)
async def ready(engine: EngineDep) -> JSONResponse:
    """The database answers a trivial query within two seconds."""
    try:
        with anyio.fail_after(READINESS_TIMEOUT_SECONDS):
{%- if cookiecutter.sqlalchemy_mode == "async" %}
            # Cancelled at the limit: a hung connection attempt is abandoned and discarded.
            await _ping(engine)
{%- else %}
            # A hung connection attempt cannot be interrupted, only left behind in its thread.
            await anyio.to_thread.run_sync(_ping, engine, abandon_on_cancel=True)
{%- endif %}
    except TimeoutError:
        logger.warning("Database did not answer within %s s", READINESS_TIMEOUT_SECONDS)
    except SQLAlchemyError as error:
        logger.warning("Database is not ready: %s", error.__class__.__name__)
    else:
        return JSONResponse(Readiness(status="ok").model_dump())
    return JSONResponse(
        Readiness(status="unavailable").model_dump(),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
