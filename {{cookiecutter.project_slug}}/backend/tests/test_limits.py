"""What a stranger can send: bounded bodies, bounded errors, clean 4xx and 503s, quiet logs."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from app.api.deps import get_user_repository
from app.core.config import get_settings
from app.db.session import get_reads
from tests.factories import DEFAULT_PASSWORD, signed_up_and_logged_in, unique_email

SECRETS = ("s3cret-hash-$argon2id$", "victim@example.com", DEFAULT_PASSWORD)


def test_a_body_above_the_limit_is_413_before_it_is_parsed(client: TestClient) -> None:
    limit = get_settings().MAX_REQUEST_BODY_BYTES
    body = b'{"email": "' + b"a" * limit + b'@example.com", "password": "x"}'

    response = client.post("/users", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert response.headers["X-Request-ID"]


def test_a_chunked_body_without_a_length_is_limited_too(client: TestClient) -> None:
    limit = get_settings().MAX_REQUEST_BODY_BYTES

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "'
        for _ in range(limit // 1024 + 1):
            yield b"a" * 1024
        yield b'@example.com", "password": "x"}'

    response = client.post("/users", content=chunks(), headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_a_body_just_under_the_limit_is_read(client: TestClient) -> None:
    limit = get_settings().MAX_REQUEST_BODY_BYTES
    fields = json.dumps({"email": "under@example.com", "password": DEFAULT_PASSWORD})
    body = fields[:-1] + " " * (limit - len(fields) - 10) + "}"

    response = client.post("/users", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 201


def sign_up_of_size(size: int) -> bytes:
    """A valid sign-up body of exactly `size` bytes: JSON padded with spaces."""
    fields = json.dumps({"email": unique_email(), "password": DEFAULT_PASSWORD}).encode()
    return fields[:-1] + b" " * (size - len(fields)) + b"}"


@pytest.mark.parametrize("chunked", [False, True], ids=["declared length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_413(
    client: TestClient, chunked: bool
) -> None:
    limit = get_settings().MAX_REQUEST_BODY_BYTES

    def post(body: bytes) -> Any:
        # An iterator is sent chunked, without a Content-Length.
        content = iter([body[:1024], body[1024:]]) if chunked else body
        return client.post("/users", content=content, headers={"Content-Type": "application/json"})

    at_the_limit = post(sign_up_of_size(limit))
    one_byte_over = post(sign_up_of_size(limit + 1))

    assert at_the_limit.status_code == 201
    assert one_byte_over.status_code == 413
    assert one_byte_over.json()["code"] == "request_too_large"


def test_validation_errors_echo_nothing_and_stay_small(client: TestClient) -> None:
    huge = "x" * 30_000

    response = client.post("/users", json={"email": huge + "@example.com", "password": huge})

    assert response.status_code == 422
    assert len(response.content) < 4096
    assert huge[:100] not in response.text
    assert all(set(error) == {"type", "loc", "msg"} for error in response.json()["detail"])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/users", b'{"email": "a@example.com", "password": "\\ud800-long-enough"}'),
        ("/users", b'{"email": "\\udfff@example.com", "password": "long-enough-1"}'),
        ("/auth/refresh", b'{"refresh_token": "\\ud800"}'),
        ("/auth/logout", b'{"refresh_token": "abc\\udc00"}'),
        ("/users", b'{"email": "a@example.com", "password": "\xff\xfe long enough"}'),
        ("/auth/refresh", b"\xc3\x28"),
    ],
)
def test_lone_surrogates_and_invalid_utf8_are_422(
    client: TestClient, path: str, body: bytes
) -> None:
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


def test_a_login_form_that_is_not_utf8_is_a_clean_4xx(client: TestClient) -> None:
    response = client.post(
        "/auth/token",
        content=b"username=%ED%A0%80%FF&password=%FF%FE",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def raise_database_error(message: str) -> Any:
    def broken() -> None:
        statement = "INSERT INTO users (email, hashed_password) VALUES (%(email)s, %(hash)s)"
        params = {"email": SECRETS[1], "hash": SECRETS[0]}
        raise OperationalError(statement, params, Exception(message))

    return broken


@pytest.mark.parametrize(
    "driver_message",
    [
        "connection refused: is the server running on host 10.0.0.5",
        "canceling statement due to statement timeout",
        "database is locked",
    ],
)
def test_a_database_that_fails_is_503_in_one_quiet_log_line(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture, driver_message: str
) -> None:
    app.dependency_overrides[get_user_repository] = raise_database_error(driver_message)

    with caplog.at_level(logging.DEBUG):
        response = client.post("/users", json={"email": SECRETS[1], "password": DEFAULT_PASSWORD})

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The database is unavailable; try again shortly.",
        "code": "database_unavailable",
    }
    assert response.headers["Retry-After"] == "1"
    app_lines = [record for record in caplog.records if record.name.startswith("app.")]
    assert len(app_lines) == 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert driver_message not in logged
    for secret in SECRETS:
        assert secret not in logged
        assert secret not in response.text


def test_authenticated_reads_fail_the_same_way(app: FastAPI, client: TestClient) -> None:
    _, tokens = signed_up_and_logged_in(client)
    app.dependency_overrides[get_reads] = raise_database_error("server closed")

    response = client.get(
        "/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )

    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"


def test_a_login_form_that_cannot_be_parsed_is_422(client: TestClient) -> None:
    response = client.post(
        "/auth/token",
        content=b"username=a&password=b",
        headers={"Content-Type": "multipart/form-data"},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_a_login_form_without_its_fields_is_an_oauth2_invalid_request(client: TestClient) -> None:
    response = client.post(
        "/auth/token",
        content=b"--x\r\ngarbage",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_nul_characters_are_refused_before_they_reach_the_database(client: TestClient) -> None:
    login = client.post("/auth/token", data={"username": "a\x00@example.com", "password": "x" * 9})
    sign_up = client.post("/users", json={"email": "a\x00@example.com", "password": "x" * 9})

    assert login.status_code == 400
    assert login.json()["error"] == "invalid_request"
    assert sign_up.status_code == 422


def test_framework_errors_keep_the_api_s_shape(client: TestClient) -> None:
    missing = client.get("/no-such-path")
    wrong_method = client.request("OPTIONS", "/users/1")
    me_has_no_put = client.put("/users/me", json={"is_active": False})

    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found", "code": "not_found"}
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
    assert wrong_method.headers["Allow"] == "DELETE, GET, PATCH"
    assert me_has_no_put.status_code == 405
    assert me_has_no_put.headers["Allow"] == "DELETE, GET, PATCH"


def test_the_schema_states_the_password_limits_the_settings_hold(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    password = schema["components"]["schemas"]["UserCreate"]["properties"]["password"]
    settings = get_settings()

    assert password["minLength"] == settings.PASSWORD_MIN_LENGTH
    assert password["maxLength"] == settings.PASSWORD_MAX_LENGTH
