"""Security headers on every response, errors included; CORS only for the origins configured."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.deps import get_user_repository
from app.core.config import get_settings
from app.main import create_app
from tests.factories import DEFAULT_PASSWORD

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ALLOWED_ORIGIN = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


@contextmanager
def client_of(**settings: str) -> Iterator[TestClient]:
    """A client of an app built from the suite's settings with `settings` changed."""
    app = create_app(get_settings().model_copy(update=settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def cors_client() -> Iterator[TestClient]:
    """A client of an app that allows two origins (CORS)."""
    with client_of(CORS_ORIGINS=f"{ALLOWED_ORIGIN}, http://localhost:5173") as client:
        yield client


def assert_security_headers(headers: Mapping[str, str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name


def test_every_kind_of_response_carries_the_security_headers(
    app: FastAPI, client: TestClient
) -> None:
    ok = client.get("/health")
    docs = client.get("/docs")
    missing = client.get("/no-such-path")
    too_large = client.post(
        "/users",
        content=b"x" * (get_settings().MAX_REQUEST_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
    )

    def broken_repository() -> None:
        raise RuntimeError("unexpected")

    app.dependency_overrides[get_user_repository] = broken_repository
    crashed = client.post("/users", json={"email": "a@example.com", "password": DEFAULT_PASSWORD})

    statuses = [response.status_code for response in (ok, docs, missing, too_large, crashed)]
    assert statuses == [200, 200, 404, 413, 500]
    for response in (ok, docs, missing, too_large, crashed):
        assert_security_headers(response.headers)
        assert "Strict-Transport-Security" not in response.headers


def test_production_adds_strict_transport_security() -> None:
    with client_of(ENVIRONMENT="production") as client:
        response = client.get("/health")

    assert_security_headers(response.headers)
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_without_cors_origins_no_cors_header_is_sent(client: TestClient) -> None:
    preflight = client.options("/users", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT})
    simple = client.get("/health", headers={"Origin": ALLOWED_ORIGIN})

    assert preflight.status_code == 405
    for response in (preflight, simple):
        assert not [name for name in response.headers if name.startswith("access-control-")]


def test_a_preflight_from_a_listed_origin_succeeds(cors_client: TestClient) -> None:
    response = cors_client.options("/users", headers={"Origin": ALLOWED_ORIGIN, **PREFLIGHT})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert_security_headers(response.headers)


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example.com", "http://app.example.com", "https://app.example.com:8443"],
)
def test_another_origin_gets_no_allow_origin(cors_client: TestClient, origin: str) -> None:
    preflight = cors_client.options("/users", headers={"Origin": origin, **PREFLIGHT})
    simple = cors_client.get("/health", headers={"Origin": origin})

    assert preflight.status_code == 400
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in simple.headers


def test_a_listed_origin_may_read_the_request_id(cors_client: TestClient) -> None:
    response = cors_client.get("/health", headers={"Origin": "http://localhost:5173"})

    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    assert response.headers["Access-Control-Expose-Headers"] == "X-Request-ID"
    assert response.headers["X-Request-ID"]
