"""Small builders for test data: each call makes new, independent rows."""

from itertools import count
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from sqlalchemy.ext.asyncio import AsyncSession
{%- else %}
from sqlalchemy.orm import Session
{%- endif %}

from app.core.security import hash_password
from app.models.user import User
from app.repositories.users import UserRepository
from tests.conftest import InAppTransaction

_sequence = count(1)

DEFAULT_PASSWORD = "correct-horse-9"
# A well-formed id that no test creates.
{%- if cookiecutter.primary_key == "uuid" %}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
{%- else %}
UNKNOWN_ID = 2**62
{%- endif %}


def unique_email(prefix: str = "user") -> str:
    """An email address no other call returns."""
    return f"{prefix}{next(_sequence)}@example.com"
{%- if cookiecutter.sqlalchemy_mode == "async" %}


async def make_user(
    session: AsyncSession,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    is_superuser: bool = False,
) -> User:
    """Create a user through the repository, as the API does."""
    return await UserRepository(session).create(
        email=email or unique_email(),
        hashed_password=hash_password(password),
        is_superuser=is_superuser,
    )
{%- else %}


def make_user(
    session: Session,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    is_superuser: bool = False,
) -> User:
    """Create a user through the repository, as the API does."""
    return UserRepository(session).create(
        email=email or unique_email(),
        hashed_password=hash_password(password),
        is_superuser=is_superuser,
    )
{%- endif %}


def sign_up(client: TestClient, **fields: Any) -> Any:
    """POST /users with a fresh email and the default password, unless `fields` say otherwise."""
    body = {"email": unique_email(), "password": DEFAULT_PASSWORD} | fields
    return client.post("/users", json=body)


def log_in(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> Any:
    """POST /auth/token with the OAuth2 password form."""
    return client.post("/auth/token", data={"username": email, "password": password})


def bearer(access_token: str) -> dict[str, str]:
    """The header that authenticates a request."""
    return {"Authorization": f"Bearer {access_token}"}


def signed_up_and_logged_in(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new user's JSON and the token pair of its login."""
    user = sign_up(client).json()
    tokens = log_in(client, user["email"]).json()
    return user, tokens


def make_superuser(in_app_transaction: InAppTransaction, email: str) -> None:
    """Make the user with this email a superuser, in the app's own transaction."""
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.email == email).values(is_superuser=True)
        )
    )


def superuser_headers(
    client: TestClient, in_app_transaction: InAppTransaction
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new superuser's JSON and the headers of their login."""
    admin, tokens = signed_up_and_logged_in(client)
    make_superuser(in_app_transaction, admin["email"])
    return admin, bearer(tokens["access_token"])
