"""Login security over HTTP against served projects: throttling, sessions, claims, the log.

The shared server of each combination trusts 127.0.0.1 as a proxy (`TRUSTED_PROXIES`), so a
test plays clients at other addresses with `X-Forwarded-For`, each with a budget of its own.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import Baked, Served, each_combination, serving
from tests.test_served_app import PASSWORD, bearer, log_in

_addresses = iter(range(1, 250))


def new_address() -> dict[str, str]:
    """Headers of a request from a client address no other test uses."""
    return {"X-Forwarded-For": f"198.51.100.{next(_addresses)}"}


def token_request(
    client: httpx2.Client, form: dict[str, str], headers: dict[str, str] | None = None
) -> httpx2.Response:
    return client.post("/auth/token", data=form, headers=headers or {})


def sign_up(client: httpx2.Client) -> dict[str, Any]:
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    response = client.post("/users", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


def password_login(
    client: httpx2.Client, email: str, password: str, headers: dict[str, str]
) -> httpx2.Response:
    form = {"grant_type": "password", "username": email, "password": password}
    return token_request(client, form, headers)


@each_combination
def test_the_token_endpoint_speaks_oauth2(served: Served) -> None:
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        user = sign_up(client)
        login = password_login(client, user["email"], PASSWORD, new_address())
        refreshed = token_request(
            client,
            {"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]},
        )
        wrong = password_login(client, user["email"], "wrong-password", new_address())
        missing = token_request(client, {"grant_type": "password"})
        other_grant = token_request(client, {"grant_type": "client_credentials"})

    for response in (login, refreshed):
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Pragma"] == "no-cache"
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert wrong.json()["code"] == "invalid_credentials"
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    assert (other_grant.status_code, other_grant.json()["error"]) == (400, "unsupported_grant_type")


@each_combination
def test_guessing_is_throttled_per_account_and_per_address(served: Served) -> None:
    with httpx2.Client(base_url=served.url, timeout=30) as client:
        user = sign_up(client)
        address = new_address()
        wrong = [
            password_login(client, user["email"], "wrong-password", address).status_code
            for _ in range(10)
        ]
        # The right password from another address: the account itself is held back.
        throttled = password_login(client, user["email"], PASSWORD, new_address())
        guesser = new_address()
        sprayed = [
            password_login(client, f"nobody{n}@example.com", "x" * 9, guesser).status_code
            for n in range(100)
        ]
        other = sign_up(client)
        from_guesser = password_login(client, other["email"], PASSWORD, guesser)
        from_elsewhere = password_login(client, other["email"], PASSWORD, new_address())

    assert wrong == [400] * 10
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "too_many_attempts"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 15 * 60
    assert sprayed == [400] * 100
    assert from_guesser.status_code == 429
    assert from_elsewhere.status_code == 200


@each_combination
def test_sessions_end_at_once_and_stay_bounded(served: Served, baked: Baked) -> None:
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        user = sign_up(client)
        logins = [password_login(client, user["email"], PASSWORD, new_address()).json()]
        logins += [
            password_login(client, user["email"], PASSWORD, new_address()).json() for _ in range(10)
        ]
        # The eleventh login ended the first session (SESSIONS_MAX_PER_USER=10).
        oldest = client.get("/users/me", headers=bearer(logins[0]))
        newest = logins[-1]
        client.post("/auth/logout", json={"refresh_token": newest["refresh_token"]})
        logged_out = client.get("/users/me", headers=bearer(newest))
        stolen = logins[1]
        rotated = token_request(
            client, {"grant_type": "refresh_token", "refresh_token": stolen["refresh_token"]}
        ).json()
        token_request(
            client, {"grant_type": "refresh_token", "refresh_token": stolen["refresh_token"]}
        )
        after_reuse = client.get("/users/me", headers=bearer(rotated))
        expire_sessions(served, user["id"])
        expired = client.get("/users/me", headers=bearer(logins[2]))
    pruned = baked.run(
        "make", "--no-print-directory", "prune-sessions", env={"DATABASE_URL": served.database_url}
    )

    assert oldest.status_code == 401
    assert logged_out.status_code == 401
    assert after_reuse.status_code == 401
    assert expired.status_code == 401
    # The eight sessions left, all past their end, and the counters of other tests' failures.
    assert "deleted 8 ended sessions" in pruned.stdout


def expire_sessions(served: Served, user_id: Any) -> None:
    """Move every session of the user past its absolute end, as 30 days would."""
    engine = create_engine(served.database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE auth_sessions SET expires_at = :past WHERE user_id = :user_id"),
            {"past": datetime.now(UTC) - timedelta(seconds=1), "user_id": user_id_value(user_id)},
        )
    engine.dispose()


def user_id_value(user_id: Any) -> Any:
    """The id as the database stores it (SQLite keeps UUIDs as 32 hex digits)."""
    return uuid.UUID(user_id).hex if isinstance(user_id, str) else user_id


@each_combination
def test_access_tokens_must_name_this_service_and_a_sane_lifetime(served: Served) -> None:
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        user = sign_up(client)
        tokens = password_login(client, user["email"], PASSWORD, new_address()).json()
        claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        now = int(time.time())

        def me_with(**changes: Any) -> int:
            forged = {
                name: value for name, value in (claims | changes).items() if value is not None
            }
            token = jwt.encode(forged, served.secret_key, algorithm="HS256")
            return client.get("/users/me", headers=bearer(token)).status_code

        statuses = {
            "as issued": me_with(),
            "no issuer": me_with(iss=None),
            "another audience": me_with(aud="another-api"),
            "no session": me_with(sid=None),
            "ten years": me_with(iat=now, exp=now + 10 * 365 * 24 * 3600),
            "a clock 10 s ahead": me_with(iat=now + 10, exp=now + 10 + 900),
            "a clock 2 minutes ahead": me_with(iat=now + 120, exp=now + 120 + 900),
        }

    assert statuses == {
        "as issued": 200,
        "no issuer": 401,
        "another audience": 401,
        "no session": 401,
        "ten years": 401,
        "a clock 10 s ahead": 200,
        "a clock 2 minutes ahead": 401,
    }


@each_combination
def test_security_events_are_logged_once_without_secrets(served: Served) -> None:
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        user = sign_up(client)
        address = new_address()
        password_login(client, user["email"], "guess-Secret-123", address)
        first = password_login(client, user["email"], PASSWORD, address).json()
        token_request(
            client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        )
        token_request(
            client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
        )

    log = served.log_path.read_text(encoding="utf-8", errors="replace")
    events = [line.partition("app.security: ")[2] for line in log.splitlines()]
    assert events.count(f"Login failed: user {user['id']}") == 1
    assert events.count(f"Refresh token reused: session of user {user['id']} ended") == 1
    for secret in (user["email"], "guess-Secret-123", PASSWORD, first["refresh_token"]):
        assert secret not in log


FLOOD_SECONDS = 4
FLOOD_CONCURRENCY = 30
# Argon2 that costs something, one at a time, and a pool of two: a login that held its
# connection (or, on SQLite, its transaction) while it waited to hash would starve the rest.
FLOOD_ENVIRONMENT = {
    "ARGON2_TIME_COST": "2",
    "ARGON2_MEMORY_COST_KIB": "19456",
    "PASSWORD_HASH_CONCURRENCY": "1",
    "DB_POOL_SIZE": "2",
    "LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
}


@pytest.fixture
def flood_server(baked: Baked, tmp_path: Path) -> Iterator[Served]:
    with serving(baked, tmp_path, env=FLOOD_ENVIRONMENT) as served:
        yield served


async def flood_and_probe(url: str, access_token: str) -> tuple[list[int], list[float], int]:
    """Unknown-email logins from FLOOD_CONCURRENCY clients while a user reads /users/me."""
    deadline = time.monotonic() + FLOOD_SECONDS
    limits = httpx2.Limits(max_connections=FLOOD_CONCURRENCY + 2)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def flood(worker: int) -> int:
            count = 0
            while time.monotonic() < deadline:
                form = {"username": f"flood{worker}-{count}@example.com", "password": "x" * 9}
                await client.post("/auth/token", data=form)
                count += 1
            return count

        async def probe() -> tuple[list[int], list[float]]:
            ready: list[int] = []
            latencies: list[float] = []
            await asyncio.sleep(0.5)  # the flood is under way
            while time.monotonic() < deadline:
                ready.append((await client.get("/health/ready")).status_code)
                started = time.monotonic()
                me = await client.get("/users/me", headers=bearer(access_token))
                assert me.status_code == 200
                latencies.append(time.monotonic() - started)
                await asyncio.sleep(0.05)
            return ready, latencies

        probing = asyncio.create_task(probe())
        counts = await asyncio.gather(*(flood(n) for n in range(FLOOD_CONCURRENCY)))
        ready, latencies = await probing
    return ready, latencies, sum(counts)


@each_combination
def test_a_login_flood_leaves_the_pool_to_everyone_else(flood_server: Served) -> None:
    with httpx2.Client(base_url=flood_server.url, timeout=30) as client:
        user = sign_up(client)
        tokens = log_in(client, user["email"]).json()

    ready, latencies, logins = asyncio.run(
        flood_and_probe(flood_server.url, tokens["access_token"])
    )

    assert logins >= FLOOD_CONCURRENCY
    assert set(ready) == {200}
    assert statistics.quantiles(latencies, n=20)[-1] < 0.5  # p95
