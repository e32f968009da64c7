"""Dependencies the routes declare, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Depends
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
{%- else %}
from sqlalchemy import Engine
from sqlalchemy.orm import Session
{%- endif %}

from app.core.config import Settings, get_settings
from app.db.session import get_db, get_engine
from app.repositories.users import UserRepository

# scope="function": the session commits before the response is sent, not after it.
{%- if cookiecutter.sqlalchemy_mode == "async" %}
SessionDep = Annotated[AsyncSession, Depends(get_db, scope="function")]
{%- else %}
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
{%- endif %}


# FastAPI runs a plain `def` dependency in its thread pool; these are async so that resolving
# them never waits for a worker thread (the readiness probe's time limit starts after them).
async def current_settings() -> Settings:
    """The settings."""
    return get_settings()


async def current_engine() -> {{ "AsyncEngine" if cookiecutter.sqlalchemy_mode == "async" else "Engine" }}:
    """The process-wide engine."""
    return get_engine()


SettingsDep = Annotated[Settings, Depends(current_settings)]
EngineDep = Annotated[{{ "AsyncEngine" if cookiecutter.sqlalchemy_mode == "async" else "Engine" }}, Depends(current_engine)]


async def get_user_repository(session: SessionDep) -> UserRepository:
    """A `UserRepository` on the request's session (async: building it needs no thread)."""
    return UserRepository(session)


UserRepositoryDep = Annotated[UserRepository, Depends(get_user_repository)]
