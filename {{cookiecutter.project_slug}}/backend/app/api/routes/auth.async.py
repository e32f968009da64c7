"""The `/auth` endpoints: the OAuth2 password flow, with refresh tokens that rotate."""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Response, status

from app.api.deps import RefreshTokenRepositoryDep, SettingsDep, UserRepositoryDep
from app.api.errors import error_response, error_responses
from app.api.responses import json_response
from app.core.config import Settings
from app.core.errors import InvalidCredentials, InvalidToken, UserInactive
from app.core.security import (
    in_hashing_thread,
    verify_and_update_password,
    verify_dummy_password,
)
from app.core.tokens import create_access_token, hash_refresh_token, new_refresh_token
from app.models.mixins import Id, utcnow
from app.repositories.refresh_tokens import RefreshTokenRepository
from app.schemas.auth import PasswordForm, RefreshTokenBody, TokenPair

router = APIRouter(prefix="/auth", tags=["auth"])

PasswordFormDep = Annotated[PasswordForm, Form()]


async def issue_tokens(
    tokens: RefreshTokenRepository, settings: Settings, *, user_id: Id, family_id: uuid.UUID
) -> TokenPair:
    """A new access token and a new refresh token of `family_id`."""
    now = utcnow()
    refresh_token = new_refresh_token()
    await tokens.add_token(
        user_id=user_id,
        family_id=family_id,
        token_hash=hash_refresh_token(refresh_token),
        expires_at=now + timedelta(days=settings.REFRESH_TOKEN_EXPIRE_DAYS),
    )
    return TokenPair(
        access_token=create_access_token(str(user_id), settings=settings, now=now),
        expires_in=settings.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
        refresh_token=refresh_token,
    )


@router.post(
    "/token",
    response_model=TokenPair,
    responses=error_responses(InvalidCredentials, UserInactive),
)
async def log_in(
    form: PasswordFormDep,
    users: UserRepositoryDep,
    tokens: RefreshTokenRepositoryDep,
    settings: SettingsDep,
) -> Response:
    """Exchange an email (`username`) and a password for an access and a refresh token.

    An unknown email and a wrong password get the same answer after the same work: an unknown
    email is verified against a dummy hash.
    """
    user = await users.get_by_email(form.username)
    if user is None:
        await in_hashing_thread(verify_dummy_password, form.password)
        raise InvalidCredentials
    matches, new_hash = await in_hashing_thread(
        verify_and_update_password, form.password, user.hashed_password
    )
    if not matches:
        raise InvalidCredentials
    if not user.is_active:
        raise UserInactive
    if new_hash is not None:
        # The hash was made with older Argon2 parameters than the settings': upgrade it.
        await users.set_password_hash(user, new_hash)
    pair = await issue_tokens(tokens, settings, user_id=user.id, family_id=uuid.uuid4())
    return json_response(pair)


@router.post("/refresh", response_model=TokenPair, responses=error_responses(InvalidToken))
async def refresh(
    body: RefreshTokenBody, tokens: RefreshTokenRepositoryDep, settings: SettingsDep
) -> Response:
    """Exchange a refresh token for a new pair; the token presented is used up.

    A token presented again after it was used up was stolen, or its client raced itself: the
    whole family (every token descending from the same login) is revoked.
    """
    now = utcnow()
    token_hash = hash_refresh_token(body.refresh_token)
    claimed = await tokens.claim(token_hash, now=now)
    if claimed is None:
        known = await tokens.get_by_hash(token_hash)
        if known is not None and known.revoked_at is not None:
            await tokens.revoke_family(known.family_id, now=now)
            # Returned, not raised: an exception would roll the revocation back.
            return error_response(InvalidToken())
        raise InvalidToken
    user_id, family_id = claimed
    pair = await issue_tokens(tokens, settings, user_id=user_id, family_id=family_id)
    return json_response(pair)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def log_out(body: RefreshTokenBody, tokens: RefreshTokenRepositoryDep) -> Response:
    """Revoke the refresh token's family. Unknown tokens get the same 204: nothing to learn."""
    known = await tokens.get_by_hash(hash_refresh_token(body.refresh_token))
    if known is not None:
        await tokens.revoke_family(known.family_id, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
