"""Queries and writes for `RefreshToken`."""

import uuid
from datetime import datetime

from sqlalchemy import select, update

from app.models.mixins import Id
from app.models.refresh_token import RefreshToken
from app.repositories.base import BaseRepository


class RefreshTokenRepository(BaseRepository[RefreshToken]):
    """Refresh tokens by hash. Revocation is one conditional UPDATE, so concurrent refreshes
    of one token cannot both succeed: the database's row lock decides, not a prior read."""

    model = RefreshToken

    async def add_token(
        self, *, user_id: Id, family_id: uuid.UUID, token_hash: str, expires_at: datetime
    ) -> RefreshToken:
        """Store a new token of `family_id`."""
        return await self.add(
            RefreshToken(
                user_id=user_id, family_id=family_id, token_hash=token_hash, expires_at=expires_at
            )
        )

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        """Return the token with this hash, or None."""
        statement = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        return (await self.session.scalars(statement)).one_or_none()

    async def claim(self, token_hash: str, *, now: datetime) -> tuple[Id, uuid.UUID] | None:
        """Revoke the token if it is live (neither revoked nor expired).

        Return its owner and family when this call revoked it, None when it was not live. Of
        two concurrent claims of one token, exactly one gets the row.
        """
        statement = (
            update(RefreshToken)
            .where(
                RefreshToken.token_hash == token_hash,
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > now,
            )
            .values(revoked_at=now)
            .returning(RefreshToken.user_id, RefreshToken.family_id)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row.user_id, row.family_id)

    async def revoke_family(self, family_id: uuid.UUID, *, now: datetime) -> None:
        """Revoke every live token of the family."""
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
