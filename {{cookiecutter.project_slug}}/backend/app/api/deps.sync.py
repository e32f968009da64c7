"""Dependencies the routes declare, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.errors import Forbidden, InvalidToken, NotAuthenticated, UserInactive
from app.core.tokens import read_access_token
from app.db.session import get_db, get_engine
from app.models.mixins import parse_id
from app.models.user import User
from app.repositories.refresh_tokens import RefreshTokenRepository
from app.repositories.users import UserRepository

# scope="function": the session commits before the response is sent, not after it.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


# FastAPI runs a plain `def` dependency in its thread pool; these are async so that resolving
# them never waits for a worker thread (the readiness probe's time limit starts after them).
async def current_settings() -> Settings:
    """The settings."""
    return get_settings()


async def current_engine() -> Engine:
    """The process-wide engine."""
    return get_engine()


SettingsDep = Annotated[Settings, Depends(current_settings)]
EngineDep = Annotated[Engine, Depends(current_engine)]


async def get_user_repository(session: SessionDep) -> UserRepository:
    """A `UserRepository` on the request's session."""
    return UserRepository(session)


async def get_refresh_token_repository(session: SessionDep) -> RefreshTokenRepository:
    """A `RefreshTokenRepository` on the request's session."""
    return RefreshTokenRepository(session)


UserRepositoryDep = Annotated[UserRepository, Depends(get_user_repository)]
RefreshTokenRepositoryDep = Annotated[RefreshTokenRepository, Depends(get_refresh_token_repository)]

# auto_error=False: a missing token gets this API's own 401 body, with its code.
bearer_token = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
BearerTokenDep = Annotated[str | None, Depends(bearer_token)]


def current_user(token: BearerTokenDep, users: UserRepositoryDep, settings: SettingsDep) -> User:
    """The user the access token names, loaded afresh: a deactivated account stops at once."""
    if not token:
        raise NotAuthenticated
    try:
        user_id = parse_id(read_access_token(token, settings=settings))
    except ValueError as error:
        raise InvalidToken from error
    user = users.get_by_id(user_id)
    if user is None:
        raise InvalidToken
    if not user.is_active:
        raise UserInactive
    return user


CurrentUserDep = Annotated[User, Depends(current_user)]


async def current_superuser(user: CurrentUserDep) -> User:
    """The caller, who must be a superuser."""
    if not user.is_superuser:
        raise Forbidden
    return user


SuperuserDep = Annotated[User, Depends(current_superuser)]
