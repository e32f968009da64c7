"""Dependencies the routes declare, as `Annotated` aliases."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings, get_settings
from app.core.errors import Forbidden, InvalidToken, NotAuthenticated, UserInactive
from app.core.tokens import read_access_token
from app.db.session import Transactions, get_db, get_engine, get_reads, get_transactions
from app.models.mixins import parse_id, utcnow
from app.models.user import User
from app.repositories.users import UserRepository

# scope="function": the session commits before the response is sent, not after it.
SessionDep = Annotated[AsyncSession, Depends(get_db, scope="function")]
TransactionsDep = Annotated[Transactions, Depends(get_transactions)]
ReadsDep = Annotated[Transactions, Depends(get_reads)]


# FastAPI runs a plain `def` dependency in its thread pool; these are async so that resolving
# them never waits for a worker thread (the readiness probe's time limit starts after them).
async def current_settings() -> Settings:
    """The settings."""
    return get_settings()


async def current_engine() -> AsyncEngine:
    """The process-wide engine."""
    return get_engine()


SettingsDep = Annotated[Settings, Depends(current_settings)]
EngineDep = Annotated[AsyncEngine, Depends(current_engine)]


async def get_user_repository(session: SessionDep) -> UserRepository:
    """A `UserRepository` on the request's session."""
    return UserRepository(session)


UserRepositoryDep = Annotated[UserRepository, Depends(get_user_repository)]

# auto_error=False: a missing token gets this API's own 401 body, with its code.
bearer_token = OAuth2PasswordBearer(
    tokenUrl="/auth/token", refreshUrl="/auth/token", auto_error=False
)
BearerTokenDep = Annotated[str | None, Depends(bearer_token)]


@dataclass(frozen=True)
class Login:
    """The caller, and when they last proved their password (the login of their session)."""

    user: User
    auth_time: datetime


async def current_login(token: BearerTokenDep, reads: ReadsDep, settings: SettingsDep) -> Login:
    """The user the access token names, loaded afresh with its session, in one query.

    The connection is back in the pool before the route runs: a request never holds two.

    A deactivated account, and a session that ended (logout, a reused refresh token, a
    password change), stop their access tokens at once, not when they expire.
    """
    if not token:
        raise NotAuthenticated
    claims = read_access_token(token, settings=settings)
    try:
        user_id = parse_id(claims.subject)
    except ValueError as error:
        raise InvalidToken from error
    async with reads() as session:
        found = await UserRepository(session).get_with_session(
            user_id, claims.session_id, now=utcnow()
        )
    if found is None:
        raise InvalidToken
    user, session_is_live = found
    if not user.is_active:
        raise UserInactive
    if not session_is_live:
        raise InvalidToken
    return Login(user, claims.auth_time)


CurrentLoginDep = Annotated[Login, Depends(current_login)]


async def current_user(login: CurrentLoginDep) -> User:
    """The caller."""
    return login.user


CurrentUserDep = Annotated[User, Depends(current_user)]


async def current_superuser(user: CurrentUserDep) -> User:
    """The caller, who must be a superuser."""
    if not user.is_superuser:
        raise Forbidden
    return user


SuperuserDep = Annotated[User, Depends(current_superuser)]
