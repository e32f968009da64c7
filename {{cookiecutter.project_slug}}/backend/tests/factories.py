"""Small builders for test data: each call makes new, independent rows."""

from itertools import count

{% if cookiecutter.sqlalchemy_mode == "async" -%}
from sqlalchemy.ext.asyncio import AsyncSession
{%- else -%}
from sqlalchemy.orm import Session
{%- endif %}

from app.core.security import hash_password
from app.models.user import User
from app.repositories.users import UserRepository

_sequence = count(1)

DEFAULT_PASSWORD = "correct-horse-9"
# A well-formed id that no test creates.
UNKNOWN_ID = {{ '"00000000-0000-4000-8000-000000000000"' if cookiecutter.primary_key == "uuid" else "2**62" }}


def unique_email(prefix: str = "user") -> str:
    """An email address no other call returns."""
    return f"{prefix}{next(_sequence)}@example.com"


{{ "async " if cookiecutter.sqlalchemy_mode == "async" }}def make_user(
    session: {{ "AsyncSession" if cookiecutter.sqlalchemy_mode == "async" else "Session" }}, *, email: str | None = None, password: str = DEFAULT_PASSWORD
) -> User:
    """Create a user through the repository, as the API does."""
    return {{ "await " if cookiecutter.sqlalchemy_mode == "async" }}UserRepository(session).create(
        email=email or unique_email(), hashed_password=hash_password(password)
    )
