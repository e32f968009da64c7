"""The `/users` endpoints."""

from fastapi import APIRouter, Response, status

from app.api.deps import CurrentUserDep, ReadsDep, SuperuserDep, UserRepositoryDep
from app.api.errors import error_responses
from app.api.params import IdPath
from app.api.responses import json_response
from app.core.errors import (
    EmailAlreadyRegistered,
    Forbidden,
    InvalidToken,
    LastSuperuser,
    NotAuthenticated,
    UserInactive,
    UserNotFound,
)
from app.core.security import hash_password, in_hashing_thread
from app.core.security_log import security_log
from app.repositories.users import UserRepository
from app.schemas.user import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

# What any route that needs a logged-in caller may answer.
AUTHENTICATION_ERRORS = (NotAuthenticated, InvalidToken, UserInactive)


@router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(EmailAlreadyRegistered),
)
async def create_user(payload: UserCreate, users: UserRepositoryDep) -> Response:
    """Sign up. Emails are unique regardless of letter case."""
    hashed_password = await in_hashing_thread(hash_password, payload.password)
    user = await users.create(email=payload.email, hashed_password=hashed_password)
    return json_response(UserRead.model_validate(user), status.HTTP_201_CREATED)


@router.get("/me", response_model=UserRead, responses=error_responses(*AUTHENTICATION_ERRORS))
async def read_me(caller: CurrentUserDep) -> Response:
    """The caller's own account."""
    return json_response(UserRead.model_validate(caller))


@router.get(
    "/{user_id:id}",
    response_model=UserRead,
    responses=error_responses(*AUTHENTICATION_ERRORS, UserNotFound),
)
async def get_user(user_id: IdPath, caller: CurrentUserDep, reads: ReadsDep) -> Response:
    """One user: the caller, or anyone for a superuser.

    Another user's id gets the same 404 as an id nobody has, so ids reveal nothing.
    """
    if user_id == caller.id:
        return json_response(UserRead.model_validate(caller))
    user = None
    if caller.is_superuser:
        async with reads() as session:
            user = await UserRepository(session).get_by_id(user_id)
    if user is None:
        raise UserNotFound
    return json_response(UserRead.model_validate(user))


@router.patch(
    "/{user_id:id}",
    response_model=UserRead,
    responses=error_responses(*AUTHENTICATION_ERRORS, Forbidden, UserNotFound, LastSuperuser),
)
async def update_user(
    user_id: IdPath, changes: UserUpdate, caller: SuperuserDep, users: UserRepositoryDep
) -> Response:
    """Activate or deactivate a user (superusers only). Deactivation ends every session.

    The last active superuser cannot be deactivated: nobody could manage the service then.
    """
    user = await users.get_by_id(user_id)
    if user is None:
        raise UserNotFound
    if not changes.is_active and await users.is_last_active_superuser(user):
        raise LastSuperuser
    await users.set_active(user, is_active=changes.is_active)
    if not changes.is_active:
        security_log.warning("User %s deactivated by user %s", user.id, caller.id)
    return json_response(UserRead.model_validate(user))
