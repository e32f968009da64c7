"""The `refresh_tokens` table: the refresh tokens of live sessions, by their hash only."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime
from app.models.mixins import ID_COLUMN_TYPE, Id, IdMixin, TimestampMixin

# Hex SHA-256.
TOKEN_HASH_LENGTH = 64


class RefreshToken(IdMixin, TimestampMixin, Base):
    """A refresh token. Each login starts a family; each refresh revokes one token of the family
    and issues the next, so a token presented twice reveals a theft and ends the family."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[Id] = mapped_column(
        ID_COLUMN_TYPE, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The session (`AuthSession.id`): every token of one login, deleted with it.
    family_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(as_uuid=True), ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True
    )
    # 0 for the login's token, one more at each refresh.
    generation: Mapped[int] = mapped_column(default=0, server_default="0")
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
