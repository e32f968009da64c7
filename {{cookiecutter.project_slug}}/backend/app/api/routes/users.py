"""The `/users` endpoints."""

{% if cookiecutter.sqlalchemy_mode == "async" -%}
import os
{% endif -%}
{% if cookiecutter.primary_key == "uuid" -%}
import uuid
{%- else -%}
from typing import Annotated
{%- endif %}

{% if cookiecutter.sqlalchemy_mode == "async" -%}
import anyio
{% endif -%}
from fastapi import APIRouter, {% if cookiecutter.primary_key == "int" %}Path, {% endif %}Response, status

from app.api.deps import UserRepositoryDep
from app.api.responses import json_response
from app.core.errors import UserNotFound
from app.core.security import hash_password
from app.schemas.errors import ErrorResponse
from app.schemas.user import UserCreate, UserRead

router = APIRouter(prefix="/users", tags=["users"])
{%- if cookiecutter.sqlalchemy_mode == "async" %}

# Concurrent hashes beyond the cores only queue, holding their memory: one per core at most.
PASSWORD_HASHING_LIMITER = anyio.CapacityLimiter(os.cpu_count() or 1)
{%- endif %}
{%- if cookiecutter.primary_key == "int" %}

# Ids are 64-bit integers; anything outside that range is a malformed id (422), not a miss.
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]
{%- else %}

UserId = uuid.UUID
{%- endif %}


@router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_409_CONFLICT: {
            "model": ErrorResponse,
            "description": "The email is already registered (code `email_already_registered`)",
        }
    },
)
{% if cookiecutter.sqlalchemy_mode == "async" %}async {% endif %}def create_user(payload: UserCreate, users: UserRepositoryDep) -> Response:
    """Create a user. Emails are unique regardless of letter case."""
{%- if cookiecutter.sqlalchemy_mode == "async" %}
    # Argon2 takes a quarter of a second of CPU and 64 MiB by design: hash in a worker thread,
    # so the event loop keeps serving other requests, and a few at a time.
    hashed_password = await anyio.to_thread.run_sync(
        hash_password, payload.password, limiter=PASSWORD_HASHING_LIMITER
    )
    user = await users.create(email=payload.email, hashed_password=hashed_password)
{%- else %}
    user = users.create(email=payload.email, hashed_password=hash_password(payload.password))
{%- endif %}
    return json_response(UserRead.model_validate(user), status.HTTP_201_CREATED)


@router.get(
    "/{user_id}",
    response_model=UserRead,
    responses={
        status.HTTP_404_NOT_FOUND: {
            "model": ErrorResponse,
            "description": "No user has this id (code `user_not_found`)",
        }
    },
)
{% if cookiecutter.sqlalchemy_mode == "async" %}async {% endif %}def get_user(user_id: UserId, users: UserRepositoryDep) -> Response:
    """Fetch one user by id."""
    user = {{ "await " if cookiecutter.sqlalchemy_mode == "async" }}users.get_by_id(user_id)
    if user is None:
        raise UserNotFound
    return json_response(UserRead.model_validate(user))
