"""Small builders for test data: each call makes new, independent rows."""

from itertools import count

from sqlalchemy.orm import Session

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


def make_user(
    session: Session, *, email: str | None = None, password: str = DEFAULT_PASSWORD
) -> User:
    """Create a user through the repository, as the API does."""
    return UserRepository(session).create(
        email=email or unique_email(), hashed_password=hash_password(password)
    )
