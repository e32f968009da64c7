"""A baked project served by uvicorn, driven over real HTTP as a user would."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from subprocess import CompletedProcess
from typing import Any

import httpx2
import jwt

from tests.conftest import Baked, Served, each_combination, each_postgresql_combination

CONCURRENT_SIGN_UPS = 50


async def sign_up_at_once(url: str, count: int) -> Counter[int]:
    limits = httpx2.Limits(max_connections=count)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/users",
                    json={"email": "Same@Example.com", "password": "correct-horse-9"},
                )
                for _ in range(count)
            )
        )
    return Counter(response.status_code for response in responses)


@each_combination
def test_concurrent_sign_ups_with_one_email_give_one_201(served: Served) -> None:
    statuses = asyncio.run(sign_up_at_once(served.url, CONCURRENT_SIGN_UPS))

    assert statuses == Counter({201: 1, 409: CONCURRENT_SIGN_UPS - 1})


@each_combination
def test_bad_requests_get_4xx_and_request_ids_hold(served: Served, baked: Baked) -> None:
    bad_id = "not-a-number" if baked.combination.primary_key == "int" else "42"
    requests: list[tuple[str, str, dict[str, Any]]] = [
        (
            "POST",
            "/users",
            {"content": b'{"email": ', "headers": {"Content-Type": "application/json"}},
        ),
        ("POST", "/users", {"json": {"email": "nope", "password": "correct-horse-9"}}),
        ("POST", "/users", {"json": {"email": "a@example.com", "password": "p" * 7}}),
        ("POST", "/users", {"json": {"email": "a@example.com", "password": "p" * 129}}),
        ("GET", f"/users/{bad_id}", {}),
        ("GET", f"/users/{2**64}", {}),
    ]
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        for method, path, options in requests:
            headers = {"X-Request-ID": "abc.123", **options.pop("headers", {})}
            response = client.request(method, path, headers=headers, **options)
            assert 400 <= response.status_code < 500, (path, response.status_code)
            assert response.headers["X-Request-ID"] == "abc.123"
            assert "p" * 7 not in response.text
        created = client.post(
            "/users",
            json={"email": "ok@example.com", "password": "correct-horse-9"},
            headers={"X-Request-ID": "x" * 129},
        )
        tokens = log_in(client, "ok@example.com").json()
        fetched = client.get(f"/users/{created.json()['id']}", headers=bearer(tokens))

    assert created.status_code == 201
    assert len(created.headers["X-Request-ID"]) == 32
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


@each_combination
def test_swollen_emails_and_guessable_passwords_are_422_not_500(served: Served) -> None:
    """What the database cannot hold, or an attacker would try first, is refused before it.

    U+FDFA is one character and 18 once normalised (NFKC): the stored form of `swollen` is 321
    characters, one more than the column holds, and that of `fits` exactly 320.
    """
    swollen = "\ufdfa" * 17 + "aaa@example.com"
    fits = "\ufdfa" * 17 + "aa@example.com"
    guessable = ["password", "12345678", " " * 8, "PassWord", "guess-me@example.com", "GUESS-ME"]
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        too_long = client.post("/users", json={"email": swollen, "password": PASSWORD})
        stored = client.post("/users", json={"email": fits, "password": PASSWORD})
        swollen_login = log_in(client, swollen)
        refused = [
            client.post("/users", json={"email": "guess-me@example.com", "password": password})
            for password in guessable
        ]
        accepted = client.post(
            "/users", json={"email": "guess-me@example.com", "password": PASSWORD}
        )

    assert too_long.status_code == 422
    assert [error["type"] for error in too_long.json()["detail"]] == ["email_too_long"]
    assert stored.status_code == 201
    assert len(stored.json()["email"]) == 320
    assert swollen_login.status_code < 500
    assert swollen_login.json()["code"] == "invalid_credentials"
    for response in refused:
        assert response.status_code == 422
        assert [error["type"] for error in response.json()["detail"]] == ["password_too_common"]
    assert accepted.status_code == 201


@each_postgresql_combination
def test_readiness_follows_the_database(served: Served) -> None:
    proxy = served.proxy
    assert proxy is not None
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        up = client.get("/health/ready")
        try:
            proxy.stop()
            refused = client.get("/health/ready")
            live = client.get("/health")
            proxy.start(stalled=True)
            started = time.monotonic()
            hung = client.get("/health/ready")
            hung_for = time.monotonic() - started
        finally:
            # The server outlives this test: leave its database reachable.
            proxy.stop()
            proxy.start()
        back = client.get("/health/ready")

    assert up.status_code == 200
    assert refused.status_code == 503
    assert refused.json() == {"status": "unavailable"}
    assert live.status_code == 200
    # A database that accepts connections but never answers: the probe gives up at its 2 s limit.
    assert hung.status_code == 503
    assert hung_for < 3
    assert back.status_code == 200
    assert back.json() == {"status": "ok"}


PASSWORD = "correct-horse-9"


def log_in(client: httpx2.Client, email: str, password: str = PASSWORD) -> httpx2.Response:
    return client.post("/auth/token", data={"username": email, "password": password})


def bearer(tokens: dict[str, Any] | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return {"Authorization": f"Bearer {token}"}


def refresh(client: httpx2.Client, token: str) -> httpx2.Response:
    return client.post("/auth/refresh", json={"refresh_token": token})


ALICE_ADMIN_PASSWORD = "alice-admin-password-7"


def make_superuser(
    baked: Baked, served: Served, email: str, *options: str
) -> CompletedProcess[str]:
    """`make superuser` against the served database, the password in the environment."""
    return baked.run(
        "make",
        "--no-print-directory",
        "superuser",
        f"email={email}",
        *options,
        check=False,
        env={"DATABASE_URL": served.database_url, "SUPERUSER_PASSWORD": ALICE_ADMIN_PASSWORD},
    )


@each_combination
def test_users_log_in_and_see_only_their_own_data(served: Served, baked: Baked) -> None:
    """The login flow over HTTP: sign-up, form login, me, ownership, refresh, logout, admin."""
    now = datetime.now(UTC)
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        alice = client.post("/users", json={"email": "alice@example.com", "password": PASSWORD})
        bob = client.post("/users", json={"email": "bob@example.com", "password": PASSWORD})
        login = log_in(client, "alice@example.com")
        tokens = login.json()
        me = client.get("/users/me", headers=bearer(tokens))
        bobs_record = client.get(f"/users/{bob.json()['id']}", headers=bearer(tokens))
        anonymous = client.get("/users/me")
        # The claims of Alice's real token (session, issuer, audience), re-signed.
        issued = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        claims = issued | {"iat": now, "exp": now + timedelta(minutes=5)}
        forged = {
            "another key": jwt.encode(claims, "another-key-" + "x" * 32, algorithm="HS256"),
            # No key, as PyJWT spells it for `none` whether or not `cryptography` is installed
            # (with it, `None` no longer type-checks).
            "alg none": jwt.encode(claims, "", algorithm="none"),
            "expired": jwt.encode(
                claims | {"iat": now - timedelta(hours=1), "exp": now - timedelta(minutes=1)},
                served.secret_key,
                algorithm="HS256",
            ),
        }
        refused = {
            kind: client.get("/users/me", headers=bearer(token)).status_code
            for kind, token in forged.items()
        }
        rotated = refresh(client, tokens["refresh_token"])
        reused = refresh(client, tokens["refresh_token"])
        after_reuse = refresh(client, rotated.json()["refresh_token"])
        second = log_in(client, "alice@example.com").json()
        logout = client.post("/auth/logout", json={"refresh_token": second["refresh_token"]})
        after_logout = refresh(client, second["refresh_token"])

        superuser = baked.run(
            "make",
            "--no-print-directory",
            "superuser",
            "email=admin@example.com",
            env={"DATABASE_URL": served.database_url, "SUPERUSER_PASSWORD": "admin-password-1"},
        )
        admin = log_in(client, "admin@example.com", "admin-password-1").json()
        admin_reads_bob = client.get(f"/users/{bob.json()['id']}", headers=bearer(admin))
        deactivated = client.patch(
            f"/users/{bob.json()['id']}", json={"is_active": False}, headers=bearer(admin)
        )
        bob_login = log_in(client, "bob@example.com")

        # An address someone signed up with is promoted only when asked, with a new password.
        alice_session = log_in(client, "alice@example.com").json()
        not_promoted = make_superuser(baked, served, "alice@example.com")
        alice_reads_bob = client.get(f"/users/{bob.json()['id']}", headers=bearer(alice_session))
        promoted = make_superuser(baked, served, "alice@example.com", "promote=1")
        old_password = log_in(client, "alice@example.com")
        new_password = log_in(client, "alice@example.com", ALICE_ADMIN_PASSWORD)
        ended_session = refresh(client, alice_session["refresh_token"])
        promoted_reads_bob = client.get(
            f"/users/{bob.json()['id']}", headers=bearer(new_password.json())
        )
        # A deactivated superuser is reactivated by running it again.
        alice_deactivated = client.patch(
            f"/users/{alice.json()['id']}", json={"is_active": False}, headers=bearer(admin)
        )
        inactive_login = log_in(client, "alice@example.com", ALICE_ADMIN_PASSWORD)
        reactivated = make_superuser(baked, served, "alice@example.com")
        reactivated_login = log_in(client, "alice@example.com", ALICE_ADMIN_PASSWORD)
        again = make_superuser(baked, served, "alice@example.com", "promote=1")

    assert alice.status_code == bob.status_code == 201
    assert login.status_code == 200
    assert tokens["token_type"] == "bearer"
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"
    assert bobs_record.status_code == 404
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert refused == {"another key": 401, "alg none": 401, "expired": 401}
    assert rotated.status_code == 200
    assert reused.status_code == 401
    assert after_reuse.status_code == 401
    assert logout.status_code == 204
    assert after_logout.status_code == 401
    assert "created the superuser admin@example.com" in superuser.stdout
    assert admin_reads_bob.status_code == 200
    assert admin_reads_bob.json()["email"] == "bob@example.com"
    assert deactivated.status_code == 200
    assert bob_login.status_code == 400
    assert bob_login.json()["error"] == "invalid_grant"
    assert bob_login.json()["code"] == "user_inactive"

    assert not_promoted.returncode != 0
    refusal = [line for line in not_promoted.stderr.splitlines() if not line.startswith("make:")]
    assert refusal == [
        "error: alice@example.com is an existing user, not a superuser: to promote it, with a new "
        "password and its sessions ended, run again with --promote (make superuser email=... "
        "promote=1)"
    ]
    assert alice_reads_bob.status_code == 404
    assert promoted.returncode == 0, promoted.stderr
    assert "alice@example.com is now a superuser" in promoted.stdout
    assert old_password.status_code != 200
    assert old_password.json()["code"] == "invalid_credentials"
    assert new_password.status_code == 200
    assert ended_session.status_code == 401
    assert promoted_reads_bob.status_code == 200
    assert alice_deactivated.status_code == 200
    assert inactive_login.status_code == 400
    assert inactive_login.json()["code"] == "user_inactive"
    assert reactivated.returncode == 0, reactivated.stderr
    assert "reactivated the superuser alice@example.com" in reactivated.stdout
    assert reactivated_login.status_code == 200
    assert again.returncode == 0, again.stderr
    assert "alice@example.com is a superuser already" in again.stdout
