"""The reference the baked projects are measured against: the same query, nothing else.

A bare Starlette app on a psycopg 3 async connection pool, with no ORM, no validation layer, no
middleware and no dependency injection. `GET /users/{id}` runs the same SELECT as the baked
project and returns the same JSON keys, without authentication (the project's lookup needs a
bearer token); `GET /health` answers without touching the database.

Served by `bench/run.py` as:

    REFERENCE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_reference \
    uvicorn --factory reference_app:create_app --app-dir bench --workers 1
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SELECT_USER = (
    "SELECT id, email, is_active, is_superuser, created_at, updated_at FROM users WHERE id = %s"
)

# 5 to 15 connections; the baked project's pool holds DB_POOL_SIZE=10, without overflow.
POOL_MIN_SIZE = 5
POOL_MAX_SIZE = 15


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def get_user(request: Request) -> JSONResponse:
    pool: AsyncConnectionPool = request.app.state.pool
    user_id: uuid.UUID = request.path_params["user_id"]
    async with pool.connection() as connection:
        cursor = await connection.execute(SELECT_USER, (user_id,))
        row: tuple[Any, ...] | None = await cursor.fetchone()
    if row is None:
        return JSONResponse({"detail": "User not found", "code": "user_not_found"}, status_code=404)
    user_id_value, email, is_active, is_superuser, created_at, updated_at = row
    return JSONResponse(
        {
            "id": str(user_id_value),
            "email": email,
            "is_active": is_active,
            "is_superuser": is_superuser,
            "created_at": _isoformat(created_at),
            "updated_at": _isoformat(updated_at),
        }
    )


def _isoformat(value: datetime) -> str:
    return value.isoformat()


def create_app() -> Starlette:
    """Build the app; the pool opens (and fills to its minimum) before the first request."""
    conninfo = os.environ["REFERENCE_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(
            conninfo, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE, open=False
        )
        await pool.open(wait=True, timeout=10.0)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/users/{user_id:uuid}", get_user, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
