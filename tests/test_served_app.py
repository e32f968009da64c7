"""A baked project served by uvicorn, driven over real HTTP as a user would."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
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
        claims = {"sub": str(alice.json()["id"]), "iat": now, "exp": now + timedelta(minutes=5)}
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
    assert bob_login.status_code == 403
    assert bob_login.json()["code"] == "user_inactive"
