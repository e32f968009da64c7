"""Sessions: one per login, ended at once by logout, reuse, deactivation or their end of life."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from app import prune_sessions
from app.api.deps import current_settings
from app.core.config import get_settings
from app.models.auth_session import AuthSession
from app.models.refresh_token import RefreshToken
from app.models.user import User
from app.repositories.auth_sessions import AuthSessionRepository
from app.repositories.refresh_tokens import USED_TOKENS_KEPT
from tests.conftest import InAppTransaction
from tests.factories import bearer, log_in, signed_up_and_logged_in

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def me(client: TestClient, tokens: dict[str, Any]) -> int:
    return client.get("/users/me", headers=bearer(tokens["access_token"])).status_code


def refresh_grant(client: TestClient, refresh_token: str) -> Any:
    """The standard refresh (RFC 6749, section 6), as OAuth2 clients send it."""
    return client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def sessions_of(in_app_transaction: InAppTransaction, email: str) -> int:
    statement = (
        select(func.count())
        .select_from(AuthSession)
        .join(User, User.id == AuthSession.user_id)
        .where(User.email == email)
    )
    count: int | None = in_app_transaction(lambda session: session.scalar(statement))
    return count or 0


def test_the_token_endpoint_refreshes_with_the_standard_grant(client: TestClient) -> None:
    _, first = signed_up_and_logged_in(client)

    response = refresh_grant(client, first["refresh_token"])
    reused = refresh_grant(client, first["refresh_token"])

    assert response.status_code == 200
    assert {name: response.headers[name] for name in NO_STORE} == NO_STORE
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert reused.json()["code"] == "invalid_token"


def test_the_legacy_refresh_endpoint_is_not_cacheable_either(client: TestClient) -> None:
    _, tokens = signed_up_and_logged_in(client)

    response = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 200
    assert {name: response.headers[name] for name in NO_STORE} == NO_STORE


def test_a_refresh_keeps_the_session_and_the_time_of_the_login(client: TestClient) -> None:
    _, first = signed_up_and_logged_in(client)
    second = refresh_grant(client, first["refresh_token"]).json()

    def claims(tokens: dict[str, Any]) -> dict[str, Any]:
        decoded: dict[str, Any] = jwt.decode(
            tokens["access_token"], options={"verify_signature": False}
        )
        return decoded

    assert claims(second)["sid"] == claims(first)["sid"]
    assert claims(second)["auth_time"] == claims(first)["auth_time"]


def test_logout_ends_the_sessions_access_tokens_at_once(client: TestClient) -> None:
    user, first = signed_up_and_logged_in(client)
    other = log_in(client, user["email"]).json()
    assert me(client, first) == 200

    client.post("/auth/logout", json={"refresh_token": first["refresh_token"]})

    assert me(client, first) == 401
    assert me(client, other) == 200


def test_a_reused_refresh_token_ends_the_sessions_access_tokens(client: TestClient) -> None:
    _, first = signed_up_and_logged_in(client)
    second = refresh_grant(client, first["refresh_token"]).json()
    assert me(client, second) == 200

    refresh_grant(client, first["refresh_token"])

    assert me(client, second) == 401
    assert me(client, first) == 401
    assert refresh_grant(client, second["refresh_token"]).status_code == 400


def test_a_session_ends_at_its_absolute_lifetime_however_often_refreshed(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    soon = datetime.now(UTC) + timedelta(hours=1)
    in_app_transaction(lambda session: session.execute(update(AuthSession).values(expires_at=soon)))

    refreshed = refresh_grant(client, tokens["refresh_token"]).json()
    stored: datetime | None = in_app_transaction(
        lambda session: session.scalar(
            select(func.max(RefreshToken.expires_at)).where(RefreshToken.revoked_at.is_(None))
        )
    )
    past = datetime.now(UTC) - timedelta(seconds=1)
    in_app_transaction(lambda session: session.execute(update(AuthSession).values(expires_at=past)))

    # The new refresh token dies with the session, not 14 days later.
    assert stored is not None
    assert stored <= soon
    assert me(client, refreshed) == 401
    assert refresh_grant(client, refreshed["refresh_token"]).status_code == 400
    assert sessions_of(in_app_transaction, user["email"]) == 1
    log_in(client, user["email"])  # a login prunes the user's ended sessions
    assert sessions_of(in_app_transaction, user["email"]) == 1


def test_refresh_refuses_an_inactive_user_even_with_a_live_session(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.email == user["email"]).values(is_active=False)
        )
    )

    response = refresh_grant(client, tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"


def test_live_sessions_per_user_are_capped_and_the_oldest_ends(
    app: FastAPI, client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    capped = get_settings().model_copy(update={"SESSIONS_MAX_PER_USER": 3})
    app.dependency_overrides[current_settings] = lambda: capped
    user, oldest = signed_up_and_logged_in(client)
    logins = [log_in(client, user["email"]).json() for _ in range(3)]

    assert sessions_of(in_app_transaction, user["email"]) == 3
    assert me(client, oldest) == 401
    assert refresh_grant(client, oldest["refresh_token"]).status_code == 400
    assert all(me(client, tokens) == 200 for tokens in logins)


def test_refreshing_does_not_grow_the_table_without_bound(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    _, tokens = signed_up_and_logged_in(client)
    for _ in range(USED_TOKENS_KEPT + 10):
        tokens = refresh_grant(client, tokens["refresh_token"]).json()

    rows: int | None = in_app_transaction(
        lambda session: session.scalar(select(func.count()).select_from(RefreshToken))
    )

    assert rows is not None
    assert rows <= USED_TOKENS_KEPT + 1
    assert me(client, tokens) == 200


def test_pruning_deletes_everyones_ended_sessions_and_keeps_live_ones(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    ended, ended_tokens = signed_up_and_logged_in(client)
    live, live_tokens = signed_up_and_logged_in(client)
    past = datetime.now(UTC) - timedelta(seconds=1)
    in_app_transaction(
        lambda session: session.execute(
            update(AuthSession)
            .where(AuthSession.user_id.in_(select(User.id).where(User.email == ended["email"])))
            .values(expires_at=past)
        )
    )

    pruned: int = in_app_transaction(
        lambda session: AuthSessionRepository(session).prune(now=datetime.now(UTC))
    )

    assert pruned == 1
    assert sessions_of(in_app_transaction, ended["email"]) == 0
    assert sessions_of(in_app_transaction, live["email"]) == 1
    assert me(client, live_tokens) == 200
    assert me(client, ended_tokens) == 401


def test_the_prune_command_ends_with_one_line_when_the_database_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """(`make prune-sessions` itself runs against a served project in the template's tests.)"""

    def run() -> str:
        raise OperationalError("DELETE FROM auth_sessions ...", {}, Exception())

    monkeypatch.setattr(prune_sessions, "run", run)

    assert prune_sessions.main() == 1
    assert capsys.readouterr() == ("", "error: the database failed (OperationalError)\n")


def security_events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "app.security"]


def test_reuse_and_deactivation_are_logged_as_security_events(
    client: TestClient, in_app_transaction: InAppTransaction, caplog: pytest.LogCaptureFixture
) -> None:
    user, first = signed_up_and_logged_in(client)
    admin, admin_tokens = signed_up_and_logged_in(client)
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.email == admin["email"]).values(is_superuser=True)
        )
    )
    refresh_grant(client, first["refresh_token"])

    with caplog.at_level(logging.WARNING, logger="app.security"):
        refresh_grant(client, first["refresh_token"])
        client.patch(
            f"/users/{user['id']}",
            json={"is_active": False},
            headers=bearer(admin_tokens["access_token"]),
        )

    assert security_events(caplog) == [
        f"Refresh token reused: session of user {user['id']} ended",
        f"User {user['id']} deactivated by user {admin['id']}",
    ]
    assert user["email"] not in caplog.text
    assert first["refresh_token"] not in caplog.text


def test_the_last_active_superuser_cannot_be_deactivated(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    admin, tokens = signed_up_and_logged_in(client)
    other, _ = signed_up_and_logged_in(client)
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.email == admin["email"]).values(is_superuser=True)
        )
    )
    headers = bearer(tokens["access_token"])

    alone = client.patch(f"/users/{admin['id']}", json={"is_active": False}, headers=headers)
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.email == other["email"]).values(is_superuser=True)
        )
    )
    with_another = client.patch(f"/users/{admin['id']}", json={"is_active": False}, headers=headers)

    assert alone.status_code == 409
    assert alone.json() == {
        "detail": "This is the last active superuser.",
        "code": "last_superuser",
    }
    assert with_another.status_code == 200
    assert with_another.json()["is_active"] is False
