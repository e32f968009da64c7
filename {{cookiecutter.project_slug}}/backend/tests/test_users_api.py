"""The `/users` API: the contract, and a clear 4xx for every bad request."""

import logging
from datetime import datetime
from typing import Any

import pytest
from asgi_correlation_id import CorrelationIdFilter
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.api.deps import get_user_repository
from app.core.logging import LOG_FORMAT
from app.core.security import verify_password
from app.models.user import EMAIL_MAX_LENGTH, User
from app.repositories.users import UserRepository
from tests.conftest import InAppTransaction
from tests.factories import (
    DEFAULT_PASSWORD,
    UNKNOWN_ID,
    bearer,
    signed_up_and_logged_in,
    unique_email,
)
from tests.factories import sign_up as create


def test_create_returns_the_user_without_any_password(client: TestClient) -> None:
    response = create(client, email="Test@Example.com")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        *("id", "email", "is_active", "is_superuser", "full_name", "email_verified"),
        *("created_at", "updated_at"),
    }
    assert body["email"] == "test@example.com"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None
    assert datetime.fromisoformat(body["updated_at"]).utcoffset() is not None
    assert DEFAULT_PASSWORD not in response.text
    assert "argon2" not in response.text


def test_the_stored_password_is_an_argon2id_hash_that_verifies(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    created = create(client, email="stored@example.com").json()

    stored: User | None = in_app_transaction(
        lambda session: UserRepository(session).get_by_email(created["email"])
    )

    assert stored is not None
    assert stored.hashed_password != DEFAULT_PASSWORD
    assert DEFAULT_PASSWORD not in stored.hashed_password
    assert stored.hashed_password.startswith("$argon2id$")
    assert verify_password(DEFAULT_PASSWORD, stored.hashed_password)
    assert not verify_password(DEFAULT_PASSWORD + "x", stored.hashed_password)


def test_get_returns_the_created_user(client: TestClient) -> None:
    created, tokens = signed_up_and_logged_in(client)

    response = client.get(f"/users/{created['id']}", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200
    assert response.json() == created


def test_unknown_id_is_404_with_a_code(client: TestClient) -> None:
    _, tokens = signed_up_and_logged_in(client)

    response = client.get(f"/users/{UNKNOWN_ID}", headers=bearer(tokens["access_token"]))

    assert response.status_code == 404
    assert response.json() == {"detail": "User not found.", "code": "user_not_found"}


@pytest.mark.parametrize(
    "user_id",
{%- if cookiecutter.primary_key == "uuid" %}
    ["42", "not-a-uuid", "00000000-0000-4000-8000-00000000000", "%20", "1e5"],
{%- else %}
    ["abc", "1.5", "0", "-1", str(2**63), "9" * 40, "00000000-0000-4000-8000-000000000000"],
{%- endif %}
)
def test_malformed_id_is_422(client: TestClient, user_id: str) -> None:
    _, tokens = signed_up_and_logged_in(client)

    response = client.get(f"/users/{user_id}", headers=bearer(tokens["access_token"]))

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "user_id"]


def test_duplicate_email_in_another_case_is_409_with_a_code(client: TestClient) -> None:
    assert create(client, email="dup@example.com").status_code == 201

    response = create(client, email="DUP@Example.COM")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "A user with this email address already exists.",
        "code": "email_already_registered",
    }


def test_a_full_width_letter_does_not_make_an_email_new(client: TestClient) -> None:
    first = create(client, email="\uff43arol@example.com")  # U+FF43, a full-width "c"

    response = create(client, email="carol@example.com")

    assert first.status_code == 201
    assert first.json()["email"] == "carol@example.com"
    assert response.status_code == 409
    assert response.json()["code"] == "email_already_registered"


def test_a_sign_up_cannot_make_itself_a_superuser(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    email = unique_email()

    response = create(client, email=email, is_superuser=True)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "is_superuser"]
    stored: User | None = in_app_transaction(
        lambda session: UserRepository(session).get_by_email(email)
    )
    assert stored is None


@pytest.mark.parametrize(("plain_letters", "status_code"), [(2, 201), (3, 422)])
def test_an_email_must_fit_the_column_once_normalised(
    client: TestClient, plain_letters: int, status_code: int
) -> None:
    """U+FDFA is one character and 18 once normalised (NFKC): 17 of them, the plain letters
    and `@example.com` make 320 stored characters, the column's size, or 321."""
    email = "\ufdfa" * 17 + "a" * plain_letters + "@example.com"

    response = create(client, email=email)

    assert response.status_code == status_code
    if status_code == 422:
        assert response.json()["detail"] == [
            {
                "type": "email_too_long",
                "loc": ["body", "email"],
                "msg": "Email must be at most 320 characters long once normalised",
            }
        ]
    else:
        assert len(response.json()["email"]) == EMAIL_MAX_LENGTH


@pytest.mark.parametrize(("length", "status_code"), [(7, 422), (8, 201), (128, 201), (129, 422)])
def test_password_length_bounds(client: TestClient, length: int, status_code: int) -> None:
    password = "p" * length

    response = create(client, password=password)

    assert response.status_code == status_code
    assert password not in response.text
    if status_code == 422:
        assert response.json()["detail"][0]["loc"] == ["body", "password"]


@pytest.mark.parametrize(
    "password", ["password", "12345678", " " * 8, "\t \u3000" * 3, "PassWord", " iloveyou "]
)
def test_common_and_blank_passwords_are_422_password_too_common(
    client: TestClient, password: str
) -> None:
    response = create(client, password=password)

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "password_too_common",
            "loc": ["body", "password"],
            "msg": "Password is too easy to guess: it is blank, a common password, or the email",
        }
    ]


@pytest.mark.parametrize("password", ["{email}", "{local}", "{upper_local}", "{upper_email}"])
def test_a_password_equal_to_the_email_or_its_local_part_is_422(
    client: TestClient, password: str
) -> None:
    email = unique_email("mallory-")
    local = email.partition("@")[0]
    password = password.format(
        email=email, local=local, upper_local=local.upper(), upper_email=email.upper()
    )

    response = create(client, email=email, password=password)

    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "password_too_common"


def test_the_schema_says_which_passwords_are_refused(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    password = schema["components"]["schemas"]["UserCreate"]["properties"]["password"]

    assert "password_too_common" in password["description"]
    assert "10,000 most common passwords" in password["description"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": DEFAULT_PASSWORD},
        {"email": "", "password": DEFAULT_PASSWORD},
        {"password": DEFAULT_PASSWORD},
        {"email": "a@example.com"},
        {},
        {"email": 42, "password": DEFAULT_PASSWORD},
        {"email": "a@example.com", "password": 12345678},
        {"email": "a@example.com", "password": None},
        {"email": "a@example.com", "password": DEFAULT_PASSWORD, "is_admin": True},
        [{"email": "a@example.com", "password": DEFAULT_PASSWORD}],
        "just a string",
        None,
    ],
)
def test_invalid_bodies_are_422_without_echoing_the_password(client: TestClient, body: Any) -> None:
    response = client.post("/users", json=body)

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    assert DEFAULT_PASSWORD not in response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"email": "a@example.com", "password": "correct-horse-9"', "application/json"),
        (b"", "application/json"),
        (b"email=a@example.com&password=correct-horse-9", "application/x-www-form-urlencoded"),
        (b"correct-horse-9", "text/plain"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_malformed_or_foreign_payloads_are_4xx(
    client: TestClient, content: bytes, content_type: str
) -> None:
    response = client.post("/users", content=content, headers={"Content-Type": content_type})

    assert 400 <= response.status_code < 500
    assert "detail" in response.json()
    assert DEFAULT_PASSWORD not in response.text


def test_unexpected_errors_are_a_generic_500_logged_with_the_request_id(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_repository() -> None:
        raise RuntimeError("secret database detail")

    app.dependency_overrides[get_user_repository] = broken_repository
    caplog.handler.addFilter(CorrelationIdFilter())

    response = client.post(
        "/users",
        json={"email": "a@example.com", "password": DEFAULT_PASSWORD},
        headers={"X-Request-ID": "trace-500"},
    )

    assert response.status_code == 500
    assert response.json() == {
        "detail": "Internal server error",
        "code": "internal_error",
        "request_id": "trace-500",
    }
    assert response.headers["X-Request-ID"] == "trace-500"
    assert "secret database detail" not in response.text
    assert "Traceback" not in response.text
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert len(errors) == 1  # logged once, where it was caught
    formatter = logging.Formatter(LOG_FORMAT)
    assert all("[trace-500]" in formatter.format(record) for record in errors)


def test_a_database_pool_that_stays_busy_is_a_503_to_retry(
    app: FastAPI, client: TestClient
) -> None:
    def exhausted_pool() -> None:
        raise PoolTimeoutError("QueuePool limit of size 10 overflow 0 reached")

    app.dependency_overrides[get_user_repository] = exhausted_pool

    response = client.post(
        "/users",
        json={"email": "a@example.com", "password": DEFAULT_PASSWORD},
        headers={"X-Request-ID": "trace-503"},
    )

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The service is busy; try again shortly.",
        "code": "service_busy",
    }
    assert response.headers["Retry-After"] == "1"
    assert response.headers["X-Request-ID"] == "trace-503"
    assert "QueuePool" not in response.text
