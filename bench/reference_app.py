"""The raw app the baked projects are measured against: the same query, nothing else.

A bare Starlette app on a psycopg 3 async connection pool, with no ORM, no validation layer, no
middleware and no dependency injection. Both lookups run the same SELECT as the baked project
and return the same JSON keys:

- `GET /users/me` reads `Authorization: Bearer <token>`, decodes the token with PyJWT (HS256,
  the project's key, issuer and audience, so it accepts the token a login to the project gives),
  takes its `sub` as the user id and reads that user; 401 when any of that fails (or the user is
  unknown or inactive).
- `GET /users/{id}` reads any user, without authentication (the project's lookup needs a bearer
  token).
- `GET /health` answers without touching the database.

Served by `bench/run.py` as:

    REFERENCE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_reference \
    BENCH_JWT_KEY=... BENCH_JWT_ISSUER=my_service BENCH_JWT_AUDIENCE=my_service \
    uvicorn --factory reference_app:create_app --app-dir bench --workers 1
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import jwt
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
ALGORITHM = "HS256"
UNAUTHORIZED = {"detail": "Not authenticated", "code": "invalid_token"}
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def fetch_user(request: Request, user_id: uuid.UUID) -> tuple[Any, ...] | None:
    pool: AsyncConnectionPool = request.app.state.pool
    async with pool.connection() as connection:
        cursor = await connection.execute(SELECT_USER, (user_id,))
        row: tuple[Any, ...] | None = await cursor.fetchone()
    return row


def user_response(row: tuple[Any, ...]) -> JSONResponse:
    user_id, email, is_active, is_superuser, created_at, updated_at = row
    return JSONResponse(
        {
            "id": str(user_id),
            "email": email,
            "is_active": is_active,
            "is_superuser": is_superuser,
            "created_at": _isoformat(created_at),
            "updated_at": _isoformat(updated_at),
        }
    )


async def get_user(request: Request) -> JSONResponse:
    row = await fetch_user(request, request.path_params["user_id"])
    if row is None:
        return JSONResponse({"detail": "User not found", "code": "user_not_found"}, status_code=404)
    return user_response(row)


def unauthorized() -> JSONResponse:
    return JSONResponse(UNAUTHORIZED, status_code=401, headers=BEARER_CHALLENGE)


async def get_me(request: Request) -> JSONResponse:
    """The token's owner: decode the bearer token, read the user its `sub` names."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return unauthorized()
    state = request.app.state
    try:
        claims = jwt.decode(
            token,
            state.jwt_key,
            algorithms=[ALGORITHM],
            audience=state.jwt_audience,
            issuer=state.jwt_issuer,
        )
        user_id = uuid.UUID(str(claims["sub"]))
    except (jwt.PyJWTError, KeyError, ValueError):
        return unauthorized()
    row = await fetch_user(request, user_id)
    if row is None or not row[2]:  # unknown or inactive
        return unauthorized()
    return user_response(row)


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

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            # Before /users/{user_id:uuid}, which "me" does not match anyway.
            Route("/users/me", get_me, methods=["GET"]),
            Route("/users/{user_id:uuid}", get_user, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.jwt_key = os.environ["BENCH_JWT_KEY"]
    app.state.jwt_issuer = os.environ["BENCH_JWT_ISSUER"]
    app.state.jwt_audience = os.environ["BENCH_JWT_AUDIENCE"]
    return app
