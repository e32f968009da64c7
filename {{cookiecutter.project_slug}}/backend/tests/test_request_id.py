"""X-Request-ID: echoed when well formed, replaced otherwise, on every response."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.factories import UNKNOWN_ID

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "request_id",
    ["abc", "A-b_c.9", "f" * 128, "00000000-0000-4000-8000-000000000000"],
)
def test_well_formed_ids_are_echoed(client: TestClient, request_id: str) -> None:
    response = client.get("/health", headers={"X-Request-ID": request_id})

    assert response.headers["X-Request-ID"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["f" * 129, "has space", "semi;colon", "tab\there", "<script>", "a/b"],
)
def test_malformed_ids_are_replaced(client: TestClient, request_id: str) -> None:
    response = client.get("/health", headers={"X-Request-ID": request_id})

    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


def test_an_id_is_generated_when_none_is_sent(client: TestClient) -> None:
    first = client.get("/health").headers["X-Request-ID"]
    second = client.get("/health").headers["X-Request-ID"]

    assert GENERATED_ID.fullmatch(first)
    assert first != second


@pytest.mark.parametrize(
    ("method", "path", "status_code"),
    [
        ("GET", f"/users/{UNKNOWN_ID}", 401),
        ("POST", "/auth/token", 400),
        ("POST", "/users", 422),
        ("GET", "/missing", 404),
    ],
)
def test_error_responses_carry_the_id(
    client: TestClient, method: str, path: str, status_code: int
) -> None:
    response = client.request(method, path, headers={"X-Request-ID": "trace-4xx"})

    assert response.status_code == status_code
    assert response.headers["X-Request-ID"] == "trace-4xx"
