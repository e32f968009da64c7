"""The `login_failures` table: failed logins counted per account and per client address."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
from app.db.types import UTCDateTime

# `account:` or `address:` and a hash or an address.
KEY_MAX_LENGTH = 80


class LoginFailure(Base):
    """How many logins failed for one key since `window_started_at`.

    Kept in the database, so the limit holds across workers and replicas. A key names an
    account by the hash of its normalised email, so the table holds no email address.
    """

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), primary_key=True)
    failures: Mapped[int]
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
