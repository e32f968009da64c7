"""The account lifecycle: profile, password change and reset, verification, deletion, and the
users list, with every email read from the suite's real SMTP server (tests/mailbox.py)."""

import logging
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from app import emails
from app.api.routes import users as users_routes
from app.core.config import get_settings
from app.models.account_token import AccountToken
from app.models.auth_session import AuthSession
from app.models.mixins import parse_id, utcnow
from app.models.user import User
from app.repositories.account_tokens import AccountTokenRepository
from tests.conftest import InAppTransaction
from tests.factories import (
    DEFAULT_PASSWORD,
    UNKNOWN_ID,
    bearer,
    log_in,
    sign_up,
    signed_up_and_logged_in,
    superuser_headers,
    unique_email,
)
from tests.mailbox import REFUSED_PREFIX, Mailbox, unused_port

NEW_PASSWORD = "another-horse-42"
RESET_SUBJECT = "Reset your"
VERIFY_SUBJECT = "Confirm your email"


def count(in_app_transaction: InAppTransaction, model: Any, user_id: Any) -> int:
    statement = select(func.count()).select_from(model).where(model.user_id == parse_id(user_id))
    found: int | None = in_app_transaction(lambda session: session.scalar(statement))
    return found or 0


def change_password(client: TestClient, tokens: dict[str, Any], current: str, new: str) -> Any:
    return client.post(
        "/users/me/password",
        json={"current_password": current, "new_password": new},
        headers=bearer(tokens["access_token"]),
    )


def reset(client: TestClient, email: str) -> Any:
    return client.post("/auth/password-reset", json={"email": email})


def confirm_reset(client: TestClient, token: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": password}
    )


# Profile


def test_a_user_sets_and_clears_their_full_name(client: TestClient) -> None:
    user, tokens = signed_up_and_logged_in(client)
    headers = bearer(tokens["access_token"])

    named = client.patch("/users/me", json={"full_name": "Ada Lovelace"}, headers=headers)
    untouched = client.patch("/users/me", json={}, headers=headers)
    cleared = client.patch("/users/me", json={"full_name": None}, headers=headers)

    assert user["full_name"] is None
    assert named.status_code == 200
    assert named.json()["full_name"] == "Ada Lovelace"
    assert untouched.json()["full_name"] == "Ada Lovelace"
    assert cleared.json()["full_name"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"full_name": "x" * 256},
        {"full_name": "nul\x00"},
        {"full_name": 7},
        {"is_superuser": True},
        {"email": "new@example.com"},
    ],
)
def test_a_user_cannot_set_anything_else_or_too_long_a_name(
    client: TestClient, body: dict[str, Any]
) -> None:
    _, tokens = signed_up_and_logged_in(client)

    response = client.patch("/users/me", json=body, headers=bearer(tokens["access_token"]))

    assert response.status_code == 422
    assert (
        client.get("/users/me", headers=bearer(tokens["access_token"])).json()["is_superuser"]
        is False
    )


# Password change


def test_a_password_change_ends_every_other_session_and_answers_a_new_pair(
    client: TestClient,
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    other = log_in(client, user["email"]).json()

    response = change_password(client, tokens, DEFAULT_PASSWORD, NEW_PASSWORD)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    pair = response.json()
    assert client.get("/users/me", headers=bearer(pair["access_token"])).status_code == 200
    for ended in (tokens, other):
        assert client.get("/users/me", headers=bearer(ended["access_token"])).status_code == 401
        refreshed = client.post("/auth/refresh", json={"refresh_token": ended["refresh_token"]})
        assert refreshed.status_code == 401
    assert log_in(client, user["email"]).status_code == 400
    assert log_in(client, user["email"], NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_is_400_and_counts_as_a_failed_login(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "LOGIN_MAX_FAILURES_PER_ACCOUNT", 2)
    user, tokens = signed_up_and_logged_in(client)

    wrong = [change_password(client, tokens, "not-my-password", NEW_PASSWORD) for _ in range(2)]
    throttled = change_password(client, tokens, DEFAULT_PASSWORD, NEW_PASSWORD)
    login = log_in(client, user["email"])

    assert [response.status_code for response in wrong] == [400, 400]
    assert wrong[0].json() == {
        "detail": "The current password is incorrect.",
        "code": "wrong_password",
    }
    assert throttled.status_code == 429
    assert login.status_code == 429
    assert client.get("/users/me", headers=bearer(tokens["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("new_password", "error"),
    [("qZ7#x", "password_too_short"), ("iloveyou", "password_too_common"), (None, "email")],
)
def test_a_new_password_follows_the_sign_up_rules(
    client: TestClient, new_password: str | None, error: str
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    chosen = user["email"] if new_password is None else new_password

    response = change_password(client, tokens, DEFAULT_PASSWORD, chosen)

    assert response.status_code == 422
    expected = "password_too_common" if error == "email" else error
    assert [problem["type"] for problem in response.json()["detail"]] == [expected]
    assert chosen not in response.text
    assert log_in(client, user["email"]).status_code == 200


# Password reset


def test_a_reset_answers_alike_for_unknown_and_registered_emails(
    client: TestClient, mailbox: Mailbox
) -> None:
    user = sign_up(client).json()
    mailbox.clear()

    registered = reset(client, user["email"].upper())
    unknown = reset(client, unique_email("nobody"))

    assert registered.status_code == unknown.status_code == 202
    assert registered.json() == unknown.json()
    assert [message["To"] for message in mailbox.messages] == [user["email"]]


def test_a_reset_email_carries_a_link_with_a_single_use_token(
    client: TestClient, mailbox: Mailbox
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    reset(client, user["email"])

    [message] = [sent for sent in mailbox.to(user["email"]) if RESET_SUBJECT in sent["Subject"]]
    token = mailbox.token(user["email"], RESET_SUBJECT)
    settings = get_settings()
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert settings.PASSWORD_RESET_URL.replace("{token}", token) in text.get_content()
    assert token in html.get_content()
    assert settings.PROJECT_NAME in message["From"]
    assert len(token) >= 22  # at least 128 random bits, URL-safe base64

    confirmed = confirm_reset(client, token)
    again = confirm_reset(client, token, "yet-another-horse-7")

    assert confirmed.status_code == 204
    assert again.status_code == 400
    assert again.json() == {
        "detail": "The password reset link is invalid or has expired.",
        "code": "invalid_reset_token",
    }
    assert client.get("/users/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert log_in(client, user["email"]).status_code == 400
    assert log_in(client, user["email"], NEW_PASSWORD).status_code == 200


def test_a_reset_stores_only_a_hash_of_the_token(
    client: TestClient, mailbox: Mailbox, in_app_transaction: InAppTransaction
) -> None:
    user = sign_up(client).json()
    reset(client, user["email"])
    token = mailbox.token(user["email"], RESET_SUBJECT)

    hashes = in_app_transaction(
        lambda session: session.scalars(
            select(AccountToken.token_hash).where(AccountToken.user_id == parse_id(user["id"]))
        )
    ).all()

    assert hashes
    assert token not in hashes
    assert all(len(stored) == 64 for stored in hashes)


def test_a_reset_kills_the_earlier_tokens_and_clears_failed_logins(
    client: TestClient, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "LOGIN_MAX_FAILURES_PER_ACCOUNT", 2)
    user = sign_up(client).json()
    reset(client, user["email"])
    earlier = mailbox.token(user["email"], RESET_SUBJECT)
    reset(client, user["email"])
    latest = mailbox.token(user["email"], RESET_SUBJECT)
    for _ in range(2):
        log_in(client, user["email"], "not-my-password")
    assert log_in(client, user["email"]).status_code == 429

    assert confirm_reset(client, latest).status_code == 204

    assert earlier != latest
    assert confirm_reset(client, earlier).status_code == 400
    assert log_in(client, user["email"], NEW_PASSWORD).status_code == 200


def test_at_most_three_reset_emails_per_account_and_hour(
    client: TestClient, mailbox: Mailbox
) -> None:
    user = sign_up(client).json()
    mailbox.clear()

    answers = [reset(client, user["email"]) for _ in range(5)]

    assert [answer.status_code for answer in answers] == [202] * 5
    assert len({answer.text for answer in answers}) == 1
    assert len(mailbox.to(user["email"])) == 3


def test_an_expired_reset_token_is_refused(
    client: TestClient, mailbox: Mailbox, in_app_transaction: InAppTransaction
) -> None:
    user = sign_up(client).json()
    reset(client, user["email"])
    token = mailbox.token(user["email"], RESET_SUBJECT)
    in_app_transaction(
        lambda session: session.execute(
            update(AccountToken)
            .where(AccountToken.user_id == parse_id(user["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    )

    response = confirm_reset(client, token)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_reset_token"
    assert log_in(client, user["email"]).status_code == 200


@pytest.mark.parametrize("token", ["unknown-token", "x" * 128])
def test_an_unknown_reset_token_is_refused(client: TestClient, token: str) -> None:
    response = confirm_reset(client, token)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_reset_token"


def test_a_reset_holds_the_new_password_to_the_rules_and_keeps_the_token(
    client: TestClient, mailbox: Mailbox
) -> None:
    user = sign_up(client).json()
    reset(client, user["email"])
    token = mailbox.token(user["email"], RESET_SUBJECT)

    same_as_email = confirm_reset(client, token, user["email"])
    too_short = confirm_reset(client, token, "short")

    assert same_as_email.status_code == too_short.status_code == 422
    assert same_as_email.json()["detail"][0]["type"] == "password_too_common"
    assert confirm_reset(client, token).status_code == 204


def test_a_deactivated_account_gets_no_reset_email(
    client: TestClient, mailbox: Mailbox, in_app_transaction: InAppTransaction
) -> None:
    user = sign_up(client).json()
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.email == user["email"]).values(is_active=False)
        )
    )
    mailbox.clear()

    assert reset(client, user["email"]).status_code == 202
    assert mailbox.messages == []


# Verification


def test_sign_up_sends_a_verification_link_that_verifies_once(
    client: TestClient, mailbox: Mailbox
) -> None:
    user = sign_up(client).json()
    token = mailbox.token(user["email"], VERIFY_SUBJECT)
    tokens = log_in(client, user["email"]).json()

    verified = client.post("/auth/verify-email", json={"token": token})
    again = client.post("/auth/verify-email", json={"token": token})

    assert user["email_verified"] is False
    assert verified.status_code == 204
    assert again.status_code == 400
    assert again.json() == {
        "detail": "The verification link is invalid or has expired.",
        "code": "invalid_verification_token",
    }
    me = client.get("/users/me", headers=bearer(tokens["access_token"])).json()
    assert me["email_verified"] is True


def test_a_reset_token_does_not_verify_and_a_verification_token_does_not_reset(
    client: TestClient, mailbox: Mailbox
) -> None:
    user = sign_up(client).json()
    reset(client, user["email"])
    verification = mailbox.token(user["email"], VERIFY_SUBJECT)
    password_reset = mailbox.token(user["email"], RESET_SUBJECT)

    assert client.post("/auth/verify-email", json={"token": password_reset}).status_code == 400
    assert confirm_reset(client, verification).status_code == 400


def test_the_verification_email_is_resent_within_the_hourly_cap(
    client: TestClient, mailbox: Mailbox
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    headers = bearer(tokens["access_token"])

    answers = [client.post("/users/me/verification-email", headers=headers) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [202] * 3
    # The sign-up's email and two more: three in the hour.
    assert len(mailbox.to(user["email"])) == 3
    latest = mailbox.token(user["email"], VERIFY_SUBJECT)
    assert client.post("/auth/verify-email", json={"token": latest}).status_code == 204


def test_a_verified_account_is_sent_no_more_verification_emails(
    client: TestClient, mailbox: Mailbox
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    client.post("/auth/verify-email", json={"token": mailbox.token(user["email"], VERIFY_SUBJECT)})
    mailbox.clear()

    answer = client.post("/users/me/verification-email", headers=bearer(tokens["access_token"]))

    assert answer.status_code == 202
    assert mailbox.messages == []


def test_a_required_verification_refuses_the_login_after_the_password(
    client: TestClient, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "EMAIL_VERIFICATION_REQUIRED", True)
    user = sign_up(client).json()

    wrong_password = log_in(client, user["email"], "not-my-password")
    unverified = log_in(client, user["email"])
    client.post("/auth/verify-email", json={"token": mailbox.token(user["email"], VERIFY_SUBJECT)})
    verified = log_in(client, user["email"])

    assert wrong_password.json()["code"] == "invalid_credentials"
    assert unverified.status_code == 400
    assert unverified.json()["error"] == "invalid_grant"
    assert unverified.json()["code"] == "email_unverified"
    assert verified.status_code == 200


def test_an_optional_verification_lets_an_unverified_account_log_in(client: TestClient) -> None:
    user = sign_up(client).json()

    assert log_in(client, user["email"]).status_code == 200


def test_a_password_reset_verifies_the_email(client: TestClient, mailbox: Mailbox) -> None:
    user = sign_up(client).json()
    reset(client, user["email"])
    confirm_reset(client, mailbox.token(user["email"], RESET_SUBJECT))

    tokens = log_in(client, user["email"], NEW_PASSWORD).json()

    me = client.get("/users/me", headers=bearer(tokens["access_token"])).json()
    assert me["email_verified"] is True


# Deletion


def test_a_fresh_login_deletes_the_account_with_everything_it_owns(
    client: TestClient, mailbox: Mailbox, in_app_transaction: InAppTransaction
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    reset(client, user["email"])
    assert mailbox.to(user["email"])

    deleted = client.delete("/users/me", headers=bearer(tokens["access_token"]))

    assert deleted.status_code == 204
    assert client.get("/users/me", headers=bearer(tokens["access_token"])).status_code == 401
    assert log_in(client, user["email"]).status_code == 400
    assert count(in_app_transaction, AuthSession, user["id"]) == 0
    assert count(in_app_transaction, AccountToken, user["id"]) == 0
    assert sign_up(client, email=user["email"]).status_code == 201


def test_a_stale_login_cannot_delete_the_account_even_after_a_refresh(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    user, tokens = signed_up_and_logged_in(client)
    stale = utcnow() - timedelta(minutes=get_settings().REAUTH_MAX_AGE_MINUTES + 1)
    in_app_transaction(
        lambda session: session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == parse_id(user["id"]))
            .values(auth_time=stale)
        )
    )
    refreshed = client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    ).json()

    refused = client.delete("/users/me", headers=bearer(refreshed["access_token"]))
    fresh = log_in(client, user["email"]).json()
    deleted = client.delete("/users/me", headers=bearer(fresh["access_token"]))

    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Log in with your password again to do this.",
        "code": "reauthentication_required",
    }
    assert deleted.status_code == 204


def test_the_last_superuser_cannot_delete_themself(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    _, headers = superuser_headers(client, in_app_transaction)

    response = client.delete("/users/me", headers=headers)

    assert response.status_code == 409
    assert response.json()["code"] == "last_superuser"
    assert client.get("/users/me", headers=headers).status_code == 200


def test_deletion_needs_a_token(client: TestClient) -> None:
    assert client.delete("/users/me").status_code == 401


# The users list and superusers' changes


def test_the_users_list_is_for_superusers_only(client: TestClient) -> None:
    _, tokens = signed_up_and_logged_in(client)

    anonymous = client.get("/users")
    ordinary = client.get("/users", headers=bearer(tokens["access_token"]))

    assert anonymous.status_code == 401
    assert ordinary.status_code == 403
    assert ordinary.json()["code"] == "forbidden"
    assert "items" not in ordinary.text


def test_the_users_list_pages_filters_and_sorts_with_stable_ties(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    _, headers = superuser_headers(client, in_app_transaction)
    emails_ = [sign_up(client, email=unique_email("Listed_")).json()["email"] for _ in range(5)]
    # Every listed user signs up in the same instant: only the tie-break orders them.
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.email.in_(emails_)).values(created_at=utcnow())
        )
    )

    def page(**query: Any) -> Any:
        params: dict[str, Any] = {"email": "LISTED_", **query}
        response = client.get("/users", params=params, headers=headers)
        assert response.status_code == 200
        return response.json()

    first, second, third = (page(limit=2, offset=offset) for offset in (0, 2, 4))
    by_email = page(sort="email")
    by_email_descending = page(sort="-email")
    newest_first = page(sort="-created_at")
    percent_is_literal = page(email="listed%")

    paged = [user["email"] for part in (first, second, third) for user in part["items"]]
    assert sorted(paged) == sorted(emails_)
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    assert len(third["items"]) == 1
    assert [user["email"] for user in by_email["items"]] == sorted(emails_)
    assert [user["email"] for user in by_email_descending["items"]] == sorted(emails_)[::-1]
    assert [user["email"] for user in newest_first["items"]] == paged[::-1]
    assert percent_is_literal["total"] == 0


def test_the_users_list_filters_by_activity(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    _, headers = superuser_headers(client, in_app_transaction)
    active = sign_up(client, email=unique_email("filtered")).json()
    inactive = sign_up(client, email=unique_email("filtered")).json()
    in_app_transaction(
        lambda session: session.execute(
            update(User).where(User.email == inactive["email"]).values(is_active=False)
        )
    )

    def emails_where(is_active: bool) -> list[str]:
        query: dict[str, Any] = {"email": "filtered", "is_active": is_active, "limit": 100}
        body = client.get("/users", params=query, headers=headers).json()
        return [user["email"] for user in body["items"]]

    assert active["email"] in emails_where(is_active=True)
    assert inactive["email"] not in emails_where(is_active=True)
    assert emails_where(is_active=False) == [inactive["email"]]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"sort": "hashed_password"},
        {"email": "x" * 321},
        {"email": "nul\x00"},
        {"role": "admin"},
    ],
)
def test_a_bad_users_query_is_422(
    client: TestClient, in_app_transaction: InAppTransaction, query: dict[str, Any]
) -> None:
    _, headers = superuser_headers(client, in_app_transaction)

    response = client.get("/users", params=query, headers=headers)

    assert response.status_code == 422


def test_a_superuser_names_promotes_and_deletes_users(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    _, headers = superuser_headers(client, in_app_transaction)
    user, tokens = signed_up_and_logged_in(client)

    promoted = client.patch(
        f"/users/{user['id']}",
        json={"is_superuser": True, "full_name": "Grace Hopper"},
        headers=headers,
    )
    deleted = client.delete(f"/users/{user['id']}", headers=headers)
    again = client.delete(f"/users/{user['id']}", headers=headers)

    assert promoted.status_code == 200
    assert (promoted.json()["is_superuser"], promoted.json()["full_name"]) == (
        True,
        "Grace Hopper",
    )
    assert deleted.status_code == 204
    assert again.status_code == 404
    assert client.get("/users/me", headers=bearer(tokens["access_token"])).status_code == 401


def test_no_change_leaves_no_active_superuser(
    client: TestClient, in_app_transaction: InAppTransaction
) -> None:
    admin, headers = superuser_headers(client, in_app_transaction)

    demoted = client.patch(f"/users/{admin['id']}", json={"is_superuser": False}, headers=headers)
    deleted = client.delete(f"/users/{admin['id']}", headers=headers)
    renamed = client.patch(f"/users/{admin['id']}", json={"full_name": "Root"}, headers=headers)

    assert demoted.status_code == deleted.status_code == 409
    assert demoted.json()["code"] == deleted.json()["code"] == "last_superuser"
    assert renamed.status_code == 200
    assert client.get("/users/me", headers=headers).json()["is_superuser"] is True


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_only_superusers_change_or_delete_others(client: TestClient, method: str) -> None:
    other = sign_up(client).json()
    _, tokens = signed_up_and_logged_in(client)

    response = client.request(
        method,
        f"/users/{other['id']}",
        json={"full_name": "x"} if method == "PATCH" else None,
        headers=bearer(tokens["access_token"]),
    )
    unknown = client.request(method, f"/users/{UNKNOWN_ID}", json={})

    assert response.status_code == 403
    assert unknown.status_code == 401


# Email delivery


def test_a_request_that_fails_sends_no_email(
    client: TestClient, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the response could not be built")

    monkeypatch.setattr(users_routes, "json_response", fail)
    email = unique_email()

    response = sign_up(client, email=email)

    assert response.status_code == 500
    assert mailbox.to(email) == []


def test_with_the_smtp_server_down_the_api_answers_and_logs_one_warning(
    client: TestClient,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = sign_up(client).json()
    monkeypatch.setattr(get_settings(), "SMTP_PORT", unused_port())
    monkeypatch.setattr(emails, "RETRY_DELAYS_SECONDS", (0.0, 0.0, 0.0))

    with caplog.at_level(logging.INFO, logger="app.emails"):
        response = reset(client, user["email"])

    assert response.status_code == 202
    lines = [record for record in caplog.records if record.name == "app.emails"]
    assert [(record.levelname, record.getMessage()) for record in lines] == [
        (
            "WARNING",
            f"Email 'password_reset' to user {user['id']} not sent after 4 of 4 attempts: "
            "ConnectionRefusedError",
        )
    ]
    assert user["email"] not in caplog.text
    assert [sent["Subject"] for sent in mailbox.messages if RESET_SUBJECT in sent["Subject"]] == []


def test_an_address_the_server_refuses_for_good_is_not_tried_again(
    client: TestClient,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(emails, "RETRY_DELAYS_SECONDS", (0.0, 0.0, 0.0))

    with caplog.at_level(logging.WARNING, logger="app.emails"):
        user = sign_up(client, email=unique_email(REFUSED_PREFIX)).json()

    lines = [record.getMessage() for record in caplog.records if record.name == "app.emails"]
    assert lines == [
        f"Email 'verify_email' to user {user['id']} not sent after 1 of 4 attempts: "
        "SMTPRecipientsRefused"
    ]
    assert user["email"] not in caplog.text
    assert mailbox.messages == []


def test_an_internationalised_address_gets_its_email(client: TestClient, mailbox: Mailbox) -> None:
    user = sign_up(client, email="j\u00f6rg@b\u00fccher.example").json()

    assert mailbox.token(user["email"], VERIFY_SUBJECT)


def test_without_smtp_host_development_logs_the_link(
    client: TestClient,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(get_settings(), "SMTP_HOST", "")

    with caplog.at_level(logging.INFO, logger="app.emails"):
        user = sign_up(client).json()

    [line] = [record.getMessage() for record in caplog.records if record.name == "app.emails"]
    assert line.startswith("Email not sent (SMTP_HOST is unset): 'Confirm your email address")
    assert f"to user {user['id']}: http://localhost:8000/verify-email?token=" in line
    assert mailbox.messages == []


def test_every_new_endpoint_documents_its_error_codes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    def codes(path: str, method: str) -> set[str]:
        responses = paths[path][method]["responses"]
        return {
            name
            for response in responses.values()
            for name in response.get("content", {}).get("application/json", {}).get("examples", {})
        }

    assert "wrong_password" in codes("/users/me/password", "post")
    assert "too_many_attempts" in codes("/users/me/password", "post")
    assert "reauthentication_required" in codes("/users/me", "delete")
    assert "last_superuser" in codes("/users/me", "delete")
    assert "invalid_reset_token" in codes("/auth/password-reset/confirm", "post")
    assert "invalid_verification_token" in codes("/auth/verify-email", "post")
    assert "forbidden" in codes("/users", "get")
    assert {"forbidden", "user_not_found", "last_superuser"} <= codes("/users/{user_id}", "delete")
    assert "email_unverified" in codes("/auth/token", "post")


def test_pruning_deletes_expired_tokens_once_they_no_longer_count_against_the_cap(
    client: TestClient, mailbox: Mailbox, in_app_transaction: InAppTransaction
) -> None:
    old, recent = sign_up(client).json(), sign_up(client).json()
    two_hours_ago = utcnow() - timedelta(hours=2)
    in_app_transaction(
        lambda session: session.execute(
            update(AccountToken)
            .where(AccountToken.user_id == parse_id(old["id"]))
            .values(created_at=two_hours_ago, expires_at=two_hours_ago + timedelta(minutes=30))
        )
    )

    pruned = in_app_transaction(lambda session: AccountTokenRepository(session).prune(now=utcnow()))

    assert pruned == 1
    assert count(in_app_transaction, AccountToken, old["id"]) == 0
    assert count(in_app_transaction, AccountToken, recent["id"]) == 1
    assert mailbox.token(recent["email"], VERIFY_SUBJECT)


def test_a_reset_the_database_fails_after_the_answer_is_one_warning(
    client: TestClient,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = sign_up(client).json()
    mailbox.clear()

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("the server closed the connection"))

    monkeypatch.setattr(AccountTokenRepository, "issue", fail)
    with caplog.at_level(logging.WARNING):
        response = reset(client, user["email"])

    assert response.status_code == 202
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("app.")]
    assert lines == ["Password reset not started: the database failed (OperationalError)"]
    assert mailbox.messages == []
