"""The `/auth` endpoints: an OAuth2 token endpoint (password and refresh grants), logout, and
the links that emails carry (password reset, email verification).

No route here holds a database connection while it hashes: it reads what it needs in one short
transaction, verifies the password with no connection, then writes in another.
"""

import logging
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request, Response, status
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool

from app.api.addresses import client_address
from app.api.deps import ReadsDep, SettingsDep, TransactionsDep
from app.api.errors import (
    NO_STORE_HEADERS,
    error_responses,
    password_too_common_error,
    token_error_response,
    token_error_responses,
)
from app.api.responses import json_response
from app.core.config import Settings
from app.core.errors import (
    EmailUnverified,
    InvalidCredentials,
    InvalidRequest,
    InvalidResetToken,
    InvalidToken,
    InvalidVerificationToken,
    TooManyAttempts,
    UnsupportedGrantType,
    UserInactive,
)
from app.core.passwords import is_too_common
from app.core.security import (
    hash_password,
    in_hashing_thread,
    verify_and_update_password,
    verify_dummy_password,
)
from app.core.security_log import security_log
from app.core.tokens import create_access_token, hash_token, new_refresh_token
from app.db.session import Transactions
from app.emails import password_reset_email, queue_email, send, verification_email
from app.models.account_token import TokenPurpose
from app.models.auth_session import AuthSession
from app.models.mixins import Id, utcnow
from app.models.user import User
from app.repositories.account_tokens import AccountTokenRepository
from app.repositories.auth_sessions import AuthSessionRepository
from app.repositories.login_failures import LoginFailureRepository, account_key, address_key
from app.repositories.refresh_tokens import RefreshTokenRepository
from app.repositories.users import UserRepository
from app.schemas.auth import (
    Accepted,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshTokenBody,
    TokenPair,
    TokenRequest,
    VerificationToken,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/auth", tags=["auth"])

RESET_ACCEPTED = Accepted(
    detail="If an active account has this email, a link to reset its password is on its way."
)
TokenRequestDep = Annotated[TokenRequest, Form()]
# What the token endpoint answers as RFC 6749 errors.
TOKEN_ERRORS = (
    EmailUnverified,
    InvalidRequest,
    UnsupportedGrantType,
    InvalidCredentials,
    UserInactive,
    InvalidToken,
    TooManyAttempts,
)


@router.post("/token", response_model=TokenPair, responses=token_error_responses(*TOKEN_ERRORS))
async def issue_token(
    form: TokenRequestDep,
    request: Request,
    transactions: TransactionsDep,
    settings: SettingsDep,
) -> Response:
    """The OAuth2 token endpoint (RFC 6749).

    `grant_type=password` exchanges an email (`username`) and a `password` for an access and a
    refresh token; `grant_type=refresh_token` uses a `refresh_token` up for a new pair. Errors
    are 400s with RFC 6749's `error` (`invalid_grant`, `invalid_request`,
    `unsupported_grant_type`) beside this API's `code`; too many failed logins are a 429.
    """
    try:
        if form.grant() == "refresh_token":
            pair = await rotate(form.token(), transactions, settings)
        else:
            email, password = form.credentials()
            address = client_address(request, settings.trusted_proxies)
            pair = await log_in(email, password, address, transactions, settings)
    except TOKEN_ERRORS as error:
        return token_error_response(error)
    return json_response(pair, headers=NO_STORE_HEADERS)


@router.post(
    "/refresh", response_model=TokenPair, responses=error_responses(InvalidToken), deprecated=True
)
async def refresh(
    body: RefreshTokenBody, transactions: TransactionsDep, settings: SettingsDep
) -> Response:
    """Exchange a refresh token for a new pair, with a JSON body: kept for 0.2.0 clients.

    The token endpoint does the same with `grant_type=refresh_token`, as OAuth2 clients expect.
    """
    pair = await rotate(body.refresh_token, transactions, settings)
    return json_response(pair, headers=NO_STORE_HEADERS)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def log_out(body: RefreshTokenBody, transactions: TransactionsDep) -> Response:
    """End the refresh token's session. Unknown tokens get the same 204: nothing to learn."""
    async with transactions() as session:
        known = await RefreshTokenRepository(session).get_by_hash(hash_token(body.refresh_token))
        if known is not None:
            await AuthSessionRepository(session).end(known.family_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password-reset",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
)
async def request_password_reset(
    body: PasswordResetRequest,
    background: BackgroundTasks,
    transactions: TransactionsDep,
    settings: SettingsDep,
) -> Response:
    """Email a link to choose a new password to the active account with this email, if any.

    The answer is the same, and as quick, whether or not the email is registered: the account
    is looked up after it was sent. An account gets at most EMAILS_PER_ACCOUNT_PER_HOUR of these
    emails; later requests within the hour are answered alike and send nothing.
    """
    background.add_task(email_reset_link, body.email, transactions, settings)
    return json_response(RESET_ACCEPTED, status.HTTP_202_ACCEPTED)


async def email_reset_link(email: str, transactions: Transactions, settings: Settings) -> None:
    """Issue a reset token to the active account with `email`, if any, and email it: after the
    answer, and after the token's transaction committed."""
    token = None
    try:
        async with transactions() as session:
            users = UserRepository(session)
            found = await users.get_by_email(email)
            user = await users.lock(found.id) if found is not None else None
            if user is not None and user.is_active:
                token = await AccountTokenRepository(session).issue(
                    user.id,
                    TokenPurpose.PASSWORD_RESET,
                    now=utcnow(),
                    lifetime=timedelta(minutes=settings.PASSWORD_RESET_EXPIRE_MINUTES),
                    per_hour=settings.EMAILS_PER_ACCOUNT_PER_HOUR,
                )
    except SQLAlchemyError as error:
        logger.warning("Password reset not started: the database failed (%s)", type(error).__name__)
        return
    if user is not None and token is not None:
        await run_in_threadpool(send, password_reset_email(user, token, settings), settings)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(InvalidResetToken),
)
async def confirm_password_reset(
    body: PasswordResetConfirm, transactions: TransactionsDep, reads: ReadsDep
) -> Response:
    """Set a new password with the token of a reset email.

    The token is used up and the account's other reset tokens die; every session of the user
    ends, its failed logins are forgotten, and its email counts as verified.
    """
    async with reads() as session:
        user_id = await AccountTokenRepository(session).owner(
            body.token, TokenPurpose.PASSWORD_RESET, now=utcnow()
        )
        owner = await UserRepository(session).get_by_id(user_id) if user_id is not None else None
    if owner is None:
        raise InvalidResetToken
    if is_too_common(body.new_password, email=owner.email):
        raise password_too_common_error("new_password")
    new_hash = await in_hashing_thread(hash_password, body.new_password)
    async with transactions() as session:
        users = UserRepository(session)
        user = await owner_of_used_token(session, body.token, TokenPurpose.PASSWORD_RESET)
        if user is None:
            raise InvalidResetToken
        await users.update(user, {"hashed_password": new_hash, "email_verified": True})
        await users.end_sessions(user)
        await LoginFailureRepository(session).clear(account_key(user.email))
    security_log.warning("Password reset by email: user %s, every session ended", user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(InvalidVerificationToken),
)
async def verify_email(body: VerificationToken, transactions: TransactionsDep) -> Response:
    """Mark the email verified with the token of a verification email; the token is used up."""
    async with transactions() as session:
        user = await owner_of_used_token(session, body.token, TokenPurpose.EMAIL_VERIFICATION)
        if user is None:
            raise InvalidVerificationToken
        await UserRepository(session).update(user, {"email_verified": True})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def owner_of_used_token(
    session: AsyncSession, token: str, purpose: TokenPurpose
) -> User | None:
    """Use a live emailed token up; its owner, read afresh and locked, or None."""
    user_id = await AccountTokenRepository(session).use(token, purpose, now=utcnow())
    return await UserRepository(session).lock(user_id) if user_id is not None else None


async def send_verification_email(
    session: AsyncSession, user: User, background: BackgroundTasks, settings: Settings
) -> None:
    """Queue an email with a new verification link, unless the hourly cap is reached.

    The caller commits: the email goes out after the response, so only once the token is
    stored.
    """
    token = await AccountTokenRepository(session).issue(
        user.id,
        TokenPurpose.EMAIL_VERIFICATION,
        now=utcnow(),
        lifetime=timedelta(hours=settings.EMAIL_VERIFICATION_EXPIRE_HOURS),
        per_hour=settings.EMAILS_PER_ACCOUNT_PER_HOUR,
    )
    if token is not None:
        queue_email(background, verification_email(user, token, settings), settings)


async def log_in(
    email: str, password: str, address: str, transactions: Transactions, settings: Settings
) -> TokenPair:
    """A new session for the account, if the password is right and no limit is reached.

    An unknown email and a wrong password get the same answer after the same work: an unknown
    email is verified against a dummy hash.
    """
    now = utcnow()
    limits = login_limits(email, address, settings)
    async with transactions() as session:
        retry_after = await throttled_for(session, limits, settings=settings, now=now)
        user = await UserRepository(session).get_by_email(email)
    if retry_after is not None:
        security_log.warning("Login throttled: user %s", user.id if user else "unknown")
        raise TooManyAttempts(retry_after)
    if user is None:
        await in_hashing_thread(verify_dummy_password, password)
        matches, new_hash = False, None
    else:
        matches, new_hash = await in_hashing_thread(
            verify_and_update_password, password, user.hashed_password
        )
    if user is None or not matches:
        async with transactions() as session:
            await count_failure(session, limits, settings=settings, now=now)
        security_log.warning("Login failed: user %s", user.id if user else "unknown")
        raise InvalidCredentials
    async with transactions() as session:
        return await start_session(
            session, user.id, account_key(email), new_hash=new_hash, settings=settings, now=now
        )


def login_limits(email: str, address: str, settings: Settings) -> dict[str, int]:
    """The failure counters a password attempt counts against, and their limits."""
    return {
        account_key(email): settings.LOGIN_MAX_FAILURES_PER_ACCOUNT,
        address_key(address): settings.LOGIN_MAX_FAILURES_PER_ADDRESS,
    }


async def throttled_for(
    session: AsyncSession, limits: dict[str, int], *, settings: Settings, now: datetime
) -> int | None:
    """Seconds to wait while a counter is at its limit (checked before any hashing), or None."""
    window = timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    return await LoginFailureRepository(session).retry_after(limits, now=now, window=window)


async def count_failure(
    session: AsyncSession, limits: dict[str, int], *, settings: Settings, now: datetime
) -> None:
    """Count a wrong password against every counter in `limits`."""
    window = timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    failures = LoginFailureRepository(session)
    await failures.prune(now=now, window=window)
    await failures.record(list(limits), now=now, window=window)


async def start_session(
    session: AsyncSession,
    user_id: Id,
    account: str,
    *,
    new_hash: str | None,
    settings: Settings,
    now: datetime,
) -> TokenPair:
    """Start a session for a user whose password was right, unless the account is inactive."""
    users = UserRepository(session)
    # Locked: a deactivation racing this login waits, then ends the session started here.
    user = await users.lock(user_id)
    if user is None:
        raise InvalidCredentials
    if not user.is_active:
        raise UserInactive
    if settings.EMAIL_VERIFICATION_REQUIRED and not user.email_verified:
        raise EmailUnverified
    await LoginFailureRepository(session).clear(account)
    if new_hash is not None:
        # The hash was made with older Argon2 parameters than the settings': upgrade it.
        await users.set_password_hash(user, new_hash)
    auth_session = await AuthSessionRepository(session).start(
        user_id=user.id,
        now=now,
        lifetime=timedelta(days=settings.SESSION_MAX_DAYS),
        max_per_user=settings.SESSIONS_MAX_PER_USER,
    )
    return await issue_tokens(
        RefreshTokenRepository(session), auth_session, settings=settings, now=now
    )


async def rotate(refresh_token: str, transactions: Transactions, settings: Settings) -> TokenPair:
    """A new pair for a live refresh token, which is used up.

    A token presented again after it was used up was stolen, or its client raced itself: its
    session ends, and with it every token descending from the same login.
    """
    now = utcnow()
    token_hash = hash_token(refresh_token)
    async with transactions() as session:
        tokens = RefreshTokenRepository(session)
        sessions = AuthSessionRepository(session)
        auth_session = await sessions.lock_live_by_token(token_hash, now=now)
        used = await tokens.claim(token_hash, now=now) if auth_session is not None else None
        if auth_session is not None and used is not None:
            generation = used.generation + 1
            return await issue_tokens(
                tokens, auth_session, settings=settings, now=now, generation=generation
            )
        reused = await tokens.get_by_hash(token_hash)
        if reused is not None and reused.revoked_at is not None:
            await sessions.end(reused.family_id)
            security_log.warning("Refresh token reused: session of user %s ended", reused.user_id)
    raise InvalidToken


async def issue_tokens(
    tokens: RefreshTokenRepository,
    auth_session: AuthSession,
    *,
    settings: Settings,
    now: datetime,
    generation: int = 0,
) -> TokenPair:
    """A new access token and a new refresh token of the session, neither outliving it."""
    refresh_token = new_refresh_token()
    refresh_lifetime = timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS)
    await tokens.add_token(
        user_id=auth_session.user_id,
        family_id=auth_session.id,
        token_hash=hash_token(refresh_token),
        expires_at=min(now + refresh_lifetime, auth_session.expires_at),
        generation=generation,
    )
    if generation:
        await tokens.forget_used(auth_session.id, before_generation=generation)
    access_token = create_access_token(
        str(auth_session.user_id),
        session_id=auth_session.id,
        auth_time=auth_session.auth_time,
        settings=settings,
        now=now,
    )
    return TokenPair(
        access_token=access_token,
        expires_in=settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
        refresh_token=refresh_token,
    )
