"""Queries and writes for `AuthSession`: logins, and their ends."""

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, exists, or_, select

from app.models.auth_session import AuthSession
from app.models.mixins import Id
from app.models.refresh_token import RefreshToken
from app.models.user import User
from app.repositories.base import BaseRepository


class AuthSessionRepository(BaseRepository[AuthSession]):
    """Sessions start at a login and end by deletion, taking their refresh tokens along."""

    model = AuthSession

    def start(
        self, *, user_id: Id, now: datetime, lifetime: timedelta, max_per_user: int
    ) -> AuthSession:
        """Start a session; the user's ended sessions go, and the oldest beyond the limit end."""
        self.prune(now=now, user_id=user_id)
        beyond_limit = (
            select(AuthSession.id)
            .where(AuthSession.user_id == user_id)
            .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
            .offset(max_per_user - 1)
        )
        self._delete(AuthSession.id.in_(beyond_limit))
        new_session = AuthSession(user_id=user_id, auth_time=now, expires_at=now + lifetime)
        return self.add(new_session)

    def lock_live_by_token(self, token_hash: str, *, now: datetime) -> AuthSession | None:
        """The live session of an active user that the refresh token belongs to, or None.

        The row stays locked against deletion until the transaction ends, so a logout or a
        deactivation racing a refresh waits for it and then ends the session it extended.
        """
        statement = (
            select(AuthSession)
            .join(RefreshToken, RefreshToken.family_id == AuthSession.id)
            .join(User, User.id == AuthSession.user_id)
            .where(
                RefreshToken.token_hash == token_hash,
                AuthSession.expires_at > now,
                User.is_active.is_(True),
            )
            .with_for_update(read=True, key_share=True, of=AuthSession)
        )
        return self.session.scalars(statement).one_or_none()

    def end(self, session_id: uuid.UUID) -> None:
        """End one session: its access and refresh tokens stop working at once."""
        self._delete(AuthSession.id == session_id)

    def prune(self, *, now: datetime, user_id: Id | None = None) -> int:
        """Delete the sessions that have ended by themselves (of one user, or of everyone).

        A session has ended when it expired, or when it has no live refresh token left (it
        was not refreshed in time); their refresh tokens go with them.
        """
        live_token = exists().where(
            RefreshToken.family_id == AuthSession.id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        ended = or_(AuthSession.expires_at <= now, ~live_token)
        if user_id is not None:
            ended = ended & (AuthSession.user_id == user_id)
        return self._delete(ended)

    def _delete(self, condition: ColumnElement[bool]) -> int:
        statement = delete(AuthSession).where(condition)
        result = self.session.execute(statement.execution_options(synchronize_session=False))
        return cast("CursorResult[Any]", result).rowcount
