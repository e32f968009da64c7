"""Queries and writes for `RefreshToken`."""

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update

from app.models.mixins import Id
from app.models.refresh_token import RefreshToken
from app.repositories.base import BaseRepository

# Used tokens a session remembers, so that one presented again is recognised as stolen. Older
# ones are forgotten (such a token is merely unknown), so refreshing cannot grow the table.
USED_TOKENS_KEPT = 16


class RefreshTokenRepository(BaseRepository[RefreshToken]):
    """Refresh tokens by hash. Using one up is one conditional UPDATE, so concurrent refreshes
    of one token cannot both succeed: the database's row lock decides, not a prior read."""

    model = RefreshToken

    async def add_token(
        self,
        *,
        user_id: Id,
        family_id: uuid.UUID,
        token_hash: str,
        expires_at: datetime,
        generation: int = 0,
    ) -> RefreshToken:
        """Store a new token of the session `family_id`."""
        return await self.add(
            RefreshToken(
                user_id=user_id,
                family_id=family_id,
                token_hash=token_hash,
                expires_at=expires_at,
                generation=generation,
            )
        )

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        """Return the token with this hash, or None."""
        statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        return (await self.session.scalars(statement)).one_or_none()

    async def claim(self, token_hash: str, *, now: datetime) -> RefreshToken | None:
        """Use the token up if it is live (neither used nor expired).

        Return it when this call used it up, None when it was not live. Of two concurrent
        claims of one token, exactly one gets the row.
        """
        statement = (
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(revoked_at=now)
            .returning(RefreshToken)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def forget_used(self, family_id: uuid.UUID, *, before_generation: int) -> None:
        """Delete the session's tokens older than the `USED_TOKENS_KEPT` last ones."""
        await self.session.execute(
            delete(RefreshToken).where(
                RefreshToken.family_id == family_id,
                RefreshToken.generation < before_generation - USED_TOKENS_KEPT,
            )
        )
