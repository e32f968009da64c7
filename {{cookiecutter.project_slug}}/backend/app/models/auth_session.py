"""The `auth_sessions` table: one row per login that has not ended."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime
from app.models.mixins import ID_COLUMN_TYPE, Id, TimestampMixin


class AuthSession(TimestampMixin, Base):
    """A login: its refresh tokens rotate within it, its access tokens name it (`sid`).

    A session ends by deleting its row, with its refresh tokens: at logout, when a used refresh
    token comes back, when the user is deactivated or changes password, and at `expires_at`,
    which refreshing never moves. Every access token is checked against its session.
    """

    __tablename__ = "auth_sessions"

    # Random whatever the primary keys are: access tokens carry it, and it must not be guessable.
    id: Mapped[uuid.UUID] = mapped_column(Uuid(as_uuid=True), primary_key=True, default=uuid.uuid4)
    user_id: Mapped[Id] = mapped_column(
        ID_COLUMN_TYPE, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # When the user last proved their password (the login), kept across refreshes.
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
