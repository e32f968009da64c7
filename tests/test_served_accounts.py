"""The account lifecycle over HTTP against served projects (`make run`), in every combination:
every email is read from the SMTP server the test process runs (tests/mail.py)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import create_engine, text

from tests.conftest import Baked, Served, each_combination, serving
from tests.mail import free_port, smtp_server
from tests.test_replicas import only
from tests.test_served_app import PASSWORD, bearer

NEW_PASSWORD = "another-horse-42"
RESET = "Reset your"
VERIFY = "Confirm your email"
# The combinations where a server with its mail server down is worth starting.
SMTP_DOWN_COMBINATIONS = ("sqlite-uuid-sync", "postgresql-int-async")


def sign_up(client: httpx2.Client) -> dict[str, Any]:
    email = f"account-{uuid.uuid4().hex[:12]}@example.com"
    response = client.post("/users", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def log_in(client: httpx2.Client, email: str, password: str = PASSWORD) -> httpx2.Response:
    # Each login from an address of its own: failures elsewhere never throttle it.
    headers = {"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}"}
    return client.post(
        "/auth/token", data={"username": email, "password": password}, headers=headers
    )


def tokens_of(client: httpx2.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = log_in(client, email, password)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def execute(served: Served, statement: str, **values: Any) -> None:
    engine = create_engine(served.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), values)
    finally:
        engine.dispose()


@each_combination
def test_verification_and_profile_over_http(served: Served) -> None:
    mailbox, _ = smtp_server()
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        user = sign_up(client)
        tokens = tokens_of(client, user["email"])
        headers = bearer(tokens["access_token"])
        token = mailbox.token(user["email"], VERIFY)
        verified = client.post("/auth/verify-email", json={"token": token})
        reused = client.post("/auth/verify-email", json={"token": token})
        named = client.patch("/users/me", json={"full_name": "Ada Lovelace"}, headers=headers)
        unknown_field = client.patch("/users/me", json={"email": "x@example.com"}, headers=headers)

    assert user["email_verified"] is False
    assert verified.status_code == 204
    assert (reused.status_code, reused.json()["code"]) == (400, "invalid_verification_token")
    assert named.status_code == 200
    assert (named.json()["full_name"], named.json()["email_verified"]) == ("Ada Lovelace", True)
    assert unknown_field.status_code == 422


@each_combination
def test_password_change_and_reset_over_http(served: Served) -> None:
    mailbox, _ = smtp_server()
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        user = sign_up(client)
        email = user["email"]
        first, second = tokens_of(client, email), tokens_of(client, email)
        wrong = client.post(
            "/users/me/password",
            json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
            headers=bearer(first["access_token"]),
        )
        changed = client.post(
            "/users/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(first["access_token"]),
        )
        other_session = client.get("/users/me", headers=bearer(second["access_token"]))
        this_client = client.get("/users/me", headers=bearer(changed.json()["access_token"]))

        requested = client.post("/auth/password-reset", json={"email": email})
        unknown = client.post(
            "/auth/password-reset", json={"email": f"nobody-{uuid.uuid4().hex}@example.com"}
        )
        token = mailbox.token(email, RESET)
        confirmed = client.post(
            "/auth/password-reset/confirm", json={"token": token, "new_password": PASSWORD}
        )
        used = client.post(
            "/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        after_reset = client.get("/users/me", headers=bearer(changed.json()["access_token"]))
        old_password = log_in(client, email, NEW_PASSWORD)
        new_password = log_in(client, email, PASSWORD)

    assert (wrong.status_code, wrong.json()["code"]) == (400, "wrong_password")
    assert changed.status_code == 200
    assert (other_session.status_code, this_client.status_code) == (401, 200)
    assert requested.status_code == unknown.status_code == 202
    assert requested.json() == unknown.json()
    assert confirmed.status_code == 204
    assert (used.status_code, used.json()["code"]) == (400, "invalid_reset_token")
    assert after_reset.status_code == 401
    assert (old_password.status_code, new_password.status_code) == (400, 200)


@each_combination
def test_reset_emails_are_capped_at_three_an_hour(served: Served) -> None:
    mailbox, _ = smtp_server()
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        user = sign_up(client)
        answers = [
            client.post("/auth/password-reset", json={"email": user["email"]}) for _ in range(5)
        ]
        mailbox.wait(user["email"], RESET, count=3)
        # A fourth would be on its way by now: the first three came within milliseconds.
        time.sleep(1)

    assert [answer.status_code for answer in answers] == [202] * 5
    assert len(mailbox.to(user["email"], RESET)) == 3


@each_combination
def test_deletion_needs_a_recent_login_over_http(served: Served) -> None:
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        user = sign_up(client)
        stale = tokens_of(client, user["email"])
        fresh = tokens_of(client, user["email"])
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        execute(
            served,
            "UPDATE auth_sessions SET auth_time = :time WHERE user_id IN "
            "(SELECT id FROM users WHERE email = :email)",
            time=an_hour_ago,
            email=user["email"],
        )
        refreshed = client.post(
            "/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": stale["refresh_token"]},
        ).json()
        refused = client.delete("/users/me", headers=bearer(refreshed["access_token"]))
        again = tokens_of(client, user["email"])
        deleted = client.delete("/users/me", headers=bearer(again["access_token"]))
        gone = client.get("/users/me", headers=bearer(fresh["access_token"]))
        login = log_in(client, user["email"])

    assert (refused.status_code, refused.json()["code"]) == (403, "reauthentication_required")
    assert deleted.status_code == 204
    assert (gone.status_code, login.status_code) == (401, 400)


@each_combination
def test_superusers_list_change_and_delete_users_over_http(served: Served) -> None:
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        admin = sign_up(client)
        execute(
            served,
            "UPDATE users SET is_superuser = true WHERE email = :email",
            email=admin["email"],
        )
        headers = bearer(tokens_of(client, admin["email"])["access_token"])
        ordinary = tokens_of(client, sign_up(client)["email"])
        listed = [sign_up(client) for _ in range(3)]
        # The random part of one address: it matches that user alone, in any letter case.
        marker = listed[0]["email"].split("-")[1].split("@")[0]
        page = client.get(
            "/users",
            params={"email": "account-", "sort": "-created_at", "limit": 2},
            headers=headers,
        )
        one = client.get("/users", params={"email": marker.upper()}, headers=headers)
        forbidden = client.get("/users", headers=bearer(ordinary["access_token"]))
        anonymous = client.get("/users")
        promoted = client.patch(
            f"/users/{listed[1]['id']}", json={"is_superuser": True}, headers=headers
        )
        deleted = client.delete(f"/users/{listed[2]['id']}", headers=headers)
        missing = client.delete(f"/users/{listed[2]['id']}", headers=headers)

    assert page.status_code == 200
    body = page.json()
    assert (body["limit"], body["offset"], len(body["items"])) == (2, 0, 2)
    assert body["total"] >= 4
    assert [user["email"] for user in one.json()["items"]] == [listed[0]["email"]]
    assert (forbidden.status_code, anonymous.status_code) == (403, 401)
    assert promoted.json()["is_superuser"] is True
    assert (deleted.status_code, missing.status_code) == (204, 404)


@only(*SMTP_DOWN_COMBINATIONS)
def test_with_the_mail_server_down_the_api_answers_and_logs_one_warning(
    baked: Baked, tmp_path: Path
) -> None:
    with serving(baked, tmp_path, env={"SMTP_PORT": str(free_port())}) as served:
        with httpx2.Client(base_url=served.url, timeout=10) as client:
            started = time.monotonic()
            response = client.post(
                "/users", json={"email": "down@example.com", "password": PASSWORD}
            )
            answered_in = time.monotonic() - started
            deadline = time.monotonic() + 20
            while "not sent after" not in served.log_path.read_text():
                assert time.monotonic() < deadline, served.log_path.read_text()
                time.sleep(0.2)
        log = served.log_path.read_text()

    assert response.status_code == 201
    assert answered_in < 5  # the three retries (7 s) happen after the answer
    warnings = [line for line in log.splitlines() if "not sent after" in line]
    assert len(warnings) == 1
    assert "WARNING" in warnings[0]
    assert "verify_email" in warnings[0]
    assert "down@example.com" not in log
    assert "token=" not in log
