"""The `users` table."""

import unicodedata

from sqlalchemy import CheckConstraint, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base
{%- if cookiecutter.primary_key == "int" %}
from app.models.mixins import ID_TABLE_OPTIONS, IdMixin, TimestampMixin
{%- else %}
from app.models.mixins import IdMixin, TimestampMixin
{%- endif %}

# RFC 5321 limits a forward path to 256 octets; 320 leaves room for normalisation, and
# `UserCreate` refuses an address whose normal form is longer still.
EMAIL_MAX_LENGTH = 320
FULL_NAME_MAX_LENGTH = 255


def normalize_email(email: str) -> str:
    """The form emails are stored and compared in: `Foo@Example.com` is `foo@example.com`.

    NFKC first, so full-width letters and ligatures (U+FF43, U+FB01) are the same account as
    their plain forms.
    """
    return unicodedata.normalize("NFKC", email).strip().lower()


class User(IdMixin, TimestampMixin, Base):
    """An account. `email` is stored normalised, so the unique index is blind to letter case."""

    __tablename__ = "users"
    # The stored form is lower case whatever code writes it (`normalize_email` does more: NFKC).
{%- if cookiecutter.primary_key == "int" %}
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower"),
        ID_TABLE_OPTIONS,
    )
{%- else %}
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lower"),)
{%- endif %}

    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True, index=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    is_superuser: Mapped[bool] = mapped_column(default=False, server_default=false())
    full_name: Mapped[str | None] = mapped_column(String(FULL_NAME_MAX_LENGTH))
    # Set when the owner used a link sent to `email` (verification or password reset).
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=false())

    def __repr__(self) -> str:
        # No email: a repr ends up in logs and tracebacks.
        return f"User(id={self.id!r}, is_active={self.is_active!r})"
