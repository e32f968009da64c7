"""Failed logins are counted per account and per client address, and refused past a limit."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update
from starlette.requests import Request

from app.api.addresses import client_address
from app.api.deps import current_settings
from app.api.routes import auth
from app.core.config import get_settings
from app.models.login_failure import LoginFailure
from app.repositories.login_failures import address_key
from tests.conftest import InAppTransaction
from tests.factories import log_in, sign_up, unique_email

TOO_MANY = "too_many_attempts"


def failures(client: TestClient, email: str, count: int) -> list[int]:
    return [log_in(client, email, "wrong-password").status_code for _ in range(count)]


def test_an_account_is_throttled_after_ten_failures_even_with_the_right_password(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = sign_up(client).json()
    assert failures(client, user["email"], 10) == [400] * 10
    verifications: list[str] = []
    monkeypatch.setattr(
        auth, "verify_and_update_password", lambda *_: verifications.append("verify")
    )
    monkeypatch.setattr(auth, "verify_dummy_password", lambda *_: verifications.append("dummy"))

    response = log_in(client, user["email"])

    assert response.status_code == 429
    assert response.json()["code"] == TOO_MANY
    assert response.json()["error"] == "invalid_grant"
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    # Refused before any Argon2 work.
    assert verifications == []


def test_an_unknown_email_is_throttled_alike(client: TestClient) -> None:
    """The answer never tells which emails have accounts."""
    email = unique_email()

    assert failures(client, email, 11) == [400] * 10 + [429]


def test_a_successful_login_clears_the_accounts_count(client: TestClient) -> None:
    user = sign_up(client).json()
    failures(client, user["email"], 9)

    assert log_in(client, user["email"]).status_code == 200
    assert failures(client, user["email"], 10) == [400] * 10
    assert log_in(client, user["email"]).status_code == 429


def test_a_client_address_is_throttled_across_accounts(app: FastAPI, client: TestClient) -> None:
    strict = get_settings().model_copy(update={"LOGIN_MAX_FAILURES_PER_ADDRESS": 3})
    app.dependency_overrides[current_settings] = lambda: strict
    user = sign_up(client).json()

    statuses = [log_in(client, unique_email(), "wrong-password").status_code for _ in range(3)]

    assert statuses == [400] * 3
    assert log_in(client, user["email"]).status_code == 429


def test_a_counter_whose_window_is_over_starts_again_and_old_ones_are_pruned(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    user = sign_up(client).json()
    failures(client, user["email"], 10)
    long_ago = datetime.now(UTC) - timedelta(minutes=16)
    in_app_transaction(
        lambda session: session.execute(update(LoginFailure).values(window_started_at=long_ago))
    )
    stale = {"key": "address:192.0.2.1", "failures": 99, "window_started_at": long_ago}
    in_app_transaction(lambda session: session.execute(insert(LoginFailure).values(stale)))

    assert log_in(client, user["email"], "wrong-password").status_code == 400
    stale_left: int | None = in_app_transaction(
        lambda session: session.scalar(
            select(func.count()).where(LoginFailure.key == "address:192.0.2.1")
        )
    )
    most: int | None = in_app_transaction(
        lambda session: session.scalar(select(func.max(LoginFailure.failures)))
    )
    assert stale_left == 0
    assert most == 1


def test_failed_throttled_and_reused_logins_are_logged_without_secrets(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    user = sign_up(client).json()
    caplog.set_level(logging.WARNING, logger="app.security")

    failures(client, user["email"], 11)

    lines = [record.getMessage() for record in caplog.records if record.name == "app.security"]
    assert lines.count(f"Login failed: user {user['id']}") == 10
    assert lines[-1] == f"Login throttled: user {user['id']}"
    assert user["email"] not in caplog.text
    assert "wrong-password" not in caplog.text


def request_from(peer: str, forwarded_for: str | None = None) -> Request:
    headers = [] if forwarded_for is None else [(b"x-forwarded-for", forwarded_for.encode())]
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        ("203.0.113.7", None, "", "203.0.113.7"),
        # An untrusted peer cannot claim another address.
        ("203.0.113.7", "198.51.100.1", "", "203.0.113.7"),
        ("10.0.0.2", "198.51.100.1", "10.0.0.0/8", "198.51.100.1"),
        # Whatever the client wrote leftmost proves nothing: the nearest untrusted hop counts.
        ("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.3", "10.0.0.0/8", "198.51.100.1"),
        ("10.0.0.2", "not-an-address", "10.0.0.0/8", "10.0.0.2"),
        ("testclient", "198.51.100.1", "10.0.0.0/8", "unknown"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    peer: str, forwarded_for: str | None, trusted: str, expected: str
) -> None:
    settings = get_settings().model_copy(update={"TRUSTED_PROXIES": trusted})

    assert client_address(request_from(peer, forwarded_for), settings.trusted_proxies) == expected


def test_ipv6_clients_are_counted_by_their_64_bit_prefix() -> None:
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff:1") == "address:2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
