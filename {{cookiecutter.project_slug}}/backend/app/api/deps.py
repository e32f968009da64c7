"""Dependencies the routes declare, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.db.session import get_db, get_engine
from app.repositories.users import UserRepository

# scope="function": the session commits before the response is sent, not after it.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]


async def get_user_repository(session: SessionDep) -> UserRepository:
    """A `UserRepository` on the request's session (async: building it needs no thread)."""
    return UserRepository(session)


UserRepositoryDep = Annotated[UserRepository, Depends(get_user_repository)]
