"""The `/users` endpoints."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from app.api.addresses import client_address
from app.api.deps import (
    CurrentLoginDep,
    CurrentUserDep,
    ReadsDep,
    SettingsDep,
    SuperuserDep,
    TransactionsDep,
    UserRepositoryDep,
)
from app.api.errors import (
    AUTHENTICATION_ERRORS,
    NO_STORE_HEADERS,
    SUPERUSER_ERRORS,
    error_responses,
    password_too_common_error,
)
from app.api.params import IdPath
from app.api.responses import json_response
from app.api.routes.auth import (
    count_failure,
    login_limits,
    send_verification_email,
    start_session,
    throttled_for,
)
from app.core.errors import (
    EmailAlreadyRegistered,
    InvalidToken,
    LastSuperuser,
    ReauthenticationRequired,
    TooManyAttempts,
    UserNotFound,
    WrongPassword,
)
from app.core.passwords import is_too_common
from app.core.security import hash_password, verify_password
from app.core.security_log import security_log
from app.models.mixins import utcnow
from app.models.user import User
from app.repositories.login_failures import account_key
from app.repositories.users import UserRepository
from app.schemas.auth import Accepted, TokenPair
from app.schemas.user import (
    PasswordChange,
    UserCreate,
    UserListQuery,
    UserPage,
    UserRead,
    UserSelfUpdate,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["users"])

VERIFICATION_ACCEPTED = Accepted(
    detail="Unless the email is verified already, a verification link is on its way."
)


@router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(EmailAlreadyRegistered),
)
def create_user(
    payload: UserCreate,
    users: UserRepositoryDep,
    background: BackgroundTasks,
    settings: SettingsDep,
) -> Response:
    """Sign up. Emails are unique regardless of letter case; a link to verify it is emailed."""
    hashed_password = hash_password(payload.password)
    user = users.create(email=payload.email, hashed_password=hashed_password)
    send_verification_email(users.session, user, background, settings)
    return json_response(UserRead.model_validate(user), status.HTTP_201_CREATED)


@router.get("", response_model=UserPage, responses=error_responses(*SUPERUSER_ERRORS))
def list_users(
    query: Annotated[UserListQuery, Query()], _caller: SuperuserDep, reads: ReadsDep
) -> Response:
    """Users, a page at a time, filtered and sorted (superusers only)."""
    with reads() as session:
        users, total = UserRepository(session).page(
            limit=query.limit,
            offset=query.offset,
            email=query.email,
            is_active=query.is_active,
            sort=query.sort,
        )
    items = [UserRead.model_validate(user) for user in users]
    page = UserPage(items=items, total=total, limit=query.limit, offset=query.offset)
    return json_response(page)


@router.get("/me", response_model=UserRead, responses=error_responses(*AUTHENTICATION_ERRORS))
def read_me(caller: CurrentUserDep) -> Response:
    """The caller's own account."""
    return json_response(UserRead.model_validate(caller))


@router.patch("/me", response_model=UserRead, responses=error_responses(*AUTHENTICATION_ERRORS))
def update_me(
    changes: UserSelfUpdate, caller: CurrentUserDep, users: UserRepositoryDep
) -> Response:
    """Change the caller's own profile: `full_name` (null clears it)."""
    user = users.lock(caller.id)
    if user is None:
        raise InvalidToken
    users.update(user, changes.model_dump(exclude_unset=True))
    return json_response(UserRead.model_validate(user))


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(*AUTHENTICATION_ERRORS, ReauthenticationRequired, LastSuperuser),
)
def delete_me(login: CurrentLoginDep, users: UserRepositoryDep, settings: SettingsDep) -> Response:
    """Delete the caller's account, with its sessions and everything it owns.

    Needs a password login within REAUTH_MAX_AGE_MINUTES (a refreshed token keeps the time of
    its login): a stolen token alone cannot delete an account. The last active superuser
    cannot delete themself.
    """
    if utcnow() - login.auth_time > timedelta(minutes=settings.REAUTH_MAX_AGE_MINUTES):
        raise ReauthenticationRequired
    user = users.lock(login.user.id)
    if user is None:
        raise InvalidToken
    delete_user(users, user)
    security_log.warning("User %s deleted their own account", user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/password",
    response_model=TokenPair,
    responses=error_responses(*AUTHENTICATION_ERRORS, WrongPassword, TooManyAttempts),
)
def change_password(
    payload: PasswordChange,
    request: Request,
    caller: CurrentUserDep,
    transactions: TransactionsDep,
    settings: SettingsDep,
) -> Response:
    """Change the caller's password; answers a new token pair for this client.

    Every other session of the user ends at once. A wrong current password counts as a failed
    login, for the account and the client address alike, and past their limits is a 429.
    """
    if is_too_common(payload.new_password, email=caller.email):
        raise password_too_common_error("new_password")
    now = utcnow()
    limits = login_limits(caller.email, client_address(request, settings.trusted_proxies), settings)
    with transactions() as session:
        retry_after = throttled_for(session, limits, settings=settings, now=now)
    if retry_after is not None:
        security_log.warning("Password change throttled: user %s", caller.id)
        raise TooManyAttempts(retry_after)
    if not verify_password(payload.current_password, caller.hashed_password):
        with transactions() as session:
            count_failure(session, limits, settings=settings, now=now)
        security_log.warning("Password change with a wrong password: user %s", caller.id)
        raise WrongPassword
    new_hash = hash_password(payload.new_password)
    with transactions() as session:
        users = UserRepository(session)
        user = users.lock(caller.id)
        if user is None:
            raise InvalidToken
        users.end_sessions(user)
        pair = start_session(
            session, user.id, account_key(user.email), new_hash=new_hash, settings=settings, now=now
        )
    security_log.warning("Password changed: user %s, every other session ended", caller.id)
    return json_response(pair, headers=NO_STORE_HEADERS)


@router.post(
    "/me/verification-email",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(*AUTHENTICATION_ERRORS),
)
def resend_verification_email(
    caller: CurrentUserDep,
    background: BackgroundTasks,
    users: UserRepositoryDep,
    settings: SettingsDep,
) -> Response:
    """Email a new verification link, unless the email is verified or the hourly cap is hit."""
    user = users.lock(caller.id)
    if user is None:
        raise InvalidToken
    if not user.email_verified:
        send_verification_email(users.session, user, background, settings)
    return json_response(VERIFICATION_ACCEPTED, status.HTTP_202_ACCEPTED)


@router.get(
    "/{user_id:id}",
    response_model=UserRead,
    responses=error_responses(*AUTHENTICATION_ERRORS, UserNotFound),
)
def get_user(user_id: IdPath, caller: CurrentUserDep, reads: ReadsDep) -> Response:
    """One user: the caller, or anyone for a superuser.

    Another user's id gets the same 404 as an id nobody has, so ids reveal nothing.
    """
    if user_id == caller.id:
        return json_response(UserRead.model_validate(caller))
    user = None
    if caller.is_superuser:
        with reads() as session:
            user = UserRepository(session).get_by_id(user_id)
    if user is None:
        raise UserNotFound
    return json_response(UserRead.model_validate(user))


@router.patch(
    "/{user_id:id}",
    response_model=UserRead,
    responses=error_responses(*SUPERUSER_ERRORS, UserNotFound, LastSuperuser),
)
def update_user(
    user_id: IdPath, changes: UserUpdate, caller: SuperuserDep, users: UserRepositoryDep
) -> Response:
    """Change a user's name, activation or superuser status (superusers only); a field left
    out stays as it is. Deactivation ends every session.

    No change may leave no active superuser: nobody could manage the service then.
    """
    user = users.lock(user_id)
    if user is None:
        raise UserNotFound
    fields = changes.model_dump(exclude_unset=True, exclude_none=True)
    if "full_name" in changes.model_fields_set:
        fields["full_name"] = changes.full_name
    deactivated = fields.get("is_active") is False
    demoted = fields.get("is_superuser") is False
    if (deactivated or demoted) and users.is_last_active_superuser(user):
        raise LastSuperuser
    users.update(user, fields)
    if deactivated:
        security_log.warning("User %s deactivated by user %s", user.id, caller.id)
    if demoted:
        security_log.warning("User %s is no longer a superuser, by user %s", user.id, caller.id)
    if fields.get("is_superuser"):
        security_log.warning("User %s made a superuser by user %s", user.id, caller.id)
    return json_response(UserRead.model_validate(user))


@router.delete(
    "/{user_id:id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(*SUPERUSER_ERRORS, UserNotFound, LastSuperuser),
)
def delete_other_user(user_id: IdPath, caller: SuperuserDep, users: UserRepositoryDep) -> Response:
    """Delete a user, with their sessions and everything they own (superusers only)."""
    user = users.lock(user_id)
    if user is None:
        raise UserNotFound
    delete_user(users, user)
    security_log.warning("User %s deleted by user %s", user.id, caller.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def delete_user(users: UserRepository, user: User) -> None:
    """Delete `user`, unless they are the last active superuser."""
    if users.is_last_active_superuser(user):
        raise LastSuperuser
    users.delete(user)
