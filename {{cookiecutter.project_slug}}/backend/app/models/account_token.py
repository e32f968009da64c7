"""The `account_tokens` table: the single-use tokens that emails carry, by their hash only."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime
from app.models.mixins import ID_COLUMN_TYPE, Id, utcnow

# Hex SHA-256.
TOKEN_HASH_LENGTH = 64


class TokenPurpose(StrEnum):
    """What a token may be used for: each purpose has its own link, lifetime and route."""

    PASSWORD_RESET = "password_reset"  # noqa: S105 - a name, not a secret
    EMAIL_VERIFICATION = "email_verification"


class AccountToken(Base):
    """A token sent by email. Using it deletes it, and with it the account's other tokens of
    the same purpose; the rows of the last hour count against the hourly cap on emails."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index(None, "user_id", "purpose", "created_at"),)

    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH), primary_key=True)
    user_id: Mapped[Id] = mapped_column(ID_COLUMN_TYPE, ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
