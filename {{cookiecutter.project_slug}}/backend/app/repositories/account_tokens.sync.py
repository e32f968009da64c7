"""Queries and writes for `AccountToken`: the single-use tokens of emailed links."""

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select

from app.core.tokens import hash_token, new_email_token
from app.models.account_token import AccountToken, TokenPurpose
from app.models.mixins import Id
from app.repositories.base import BaseRepository

# The cap on emails counts the tokens of this last stretch of time.
CAP_PERIOD = timedelta(hours=1)


class AccountTokenRepository(BaseRepository[AccountToken]):
    """Tokens are issued within an hourly cap per account and purpose, and die when used."""

    model = AccountToken

    def issue(
        self,
        user_id: Id,
        purpose: TokenPurpose,
        *,
        now: datetime,
        lifetime: timedelta,
        per_hour: int,
    ) -> str | None:
        """A new token, or None when the account had `per_hour` of this purpose in the hour.

        The caller holds the user's row locked, so two requests at once cannot both pass the
        cap. Tokens that expired before the period are deleted as new ones come.
        """
        mine = (AccountToken.user_id == user_id) & (AccountToken.purpose == purpose)
        self.session.execute(
            delete(AccountToken)
            .where(mine, AccountToken.created_at <= now - CAP_PERIOD)
            .where(AccountToken.expires_at <= now)
        )
        recent = select(func.count()).where(mine, AccountToken.created_at > now - CAP_PERIOD)
        if (self.session.scalar(recent) or 0) >= per_hour:
            return None
        token = new_email_token()
        self.add(
            AccountToken(
                token_hash=hash_token(token),
                user_id=user_id,
                purpose=purpose,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        return token

    def owner(self, token: str, purpose: TokenPurpose, *, now: datetime) -> Id | None:
        """The user a live token of `purpose` belongs to, or None; the token stays usable."""
        statement = select(AccountToken.user_id).where(
            AccountToken.token_hash == hash_token(token),
            AccountToken.purpose == purpose,
            AccountToken.expires_at > now,
        )
        return self.session.scalar(statement)

    def use(self, token: str, purpose: TokenPurpose, *, now: datetime) -> Id | None:
        """Use a live token up: the user it belongs to, or None when it is not (or no longer)
        live. The account's other tokens of `purpose` die with it.

        One DELETE decides: of two requests with the same token, only one gets its row.
        """
        statement = (
            delete(AccountToken)
            .where(
                AccountToken.token_hash == hash_token(token),
                AccountToken.purpose == purpose,
                AccountToken.expires_at > now,
            )
            .returning(AccountToken.user_id)
        )
        user_id = self.session.execute(statement).scalar_one_or_none()
        if user_id is not None:
            self.session.execute(
                delete(AccountToken).where(
                    AccountToken.user_id == user_id, AccountToken.purpose == purpose
                )
            )
        return user_id

    def prune(self, *, now: datetime) -> int:
        """Delete the tokens that expired and no longer count against the cap."""
        statement = delete(AccountToken).where(
            AccountToken.expires_at <= now, AccountToken.created_at <= now - CAP_PERIOD
        )
        result = self.session.execute(statement)
        return cast("CursorResult[Any]", result).rowcount
