"""Races the database decides: sign-ups with one email, refreshes, deactivation and refresh."""

import asyncio
from collections import Counter
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from collections.abc import AsyncIterator

import httpx2
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine
{%- else %}
from collections.abc import Iterator

import httpx2
import pytest
from sqlalchemy import Engine, delete, update
{%- endif %}

from app.main import create_app
from app.models.user import User

CONCURRENT_REQUESTS = 20
EMAIL = "race@example.com"
REFRESH_EMAIL = "refresh-race@example.com"
ADMIN_EMAIL = "admin-race@example.com"
DEACTIVATED_EMAIL = "deactivated-race{}@example.com"
PASSWORD = "correct-horse-9"
DEACTIVATION_ROUNDS = 8
RACE_EMAILS = [
    EMAIL,
    REFRESH_EMAIL,
    ADMIN_EMAIL,
    *(DEACTIVATED_EMAIL.format(round_) for round_ in range(DEACTIVATION_ROUNDS)),
]


{% if cookiecutter.sqlalchemy_mode == "async" -%}
@pytest.fixture
async def committed_users(engine: AsyncEngine) -> AsyncIterator[None]:
    """Let requests commit for real (separate connections), and delete what they wrote."""
    yield
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.email.in_(RACE_EMAILS)))
    await engine.dispose()
{%- else -%}
@pytest.fixture
def committed_users(engine: Engine) -> Iterator[None]:
    """Let requests commit for real (separate connections), and delete what they wrote."""
    yield
    with engine.begin() as connection:
        connection.execute(delete(User).where(User.email.in_(RACE_EMAILS)))
{%- endif %}


async def sign_up_concurrently(count: int) -> Counter[int]:
    emails = [EMAIL.upper() if i % 2 else EMAIL for i in range(count)]
    transport = httpx2.ASGITransport(app=create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = await asyncio.gather(
            *(
                client.post("/users", json={"email": email, "password": PASSWORD})
                for email in emails
            )
        )
    return Counter(response.status_code for response in responses)


async def refresh_concurrently(count: int) -> tuple[Counter[int], int]:
    """Log in, refresh the one token `count` times at once; then try the winner's new token."""
    transport = httpx2.ASGITransport(app=create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.post("/users", json={"email": REFRESH_EMAIL, "password": PASSWORD})
        login = await client.post(
            "/auth/token", data={"username": REFRESH_EMAIL, "password": PASSWORD}
        )
        token = login.json()["refresh_token"]
        responses = await asyncio.gather(
            *(client.post("/auth/refresh", json={"refresh_token": token}) for _ in range(count))
        )
        winners = [response.json() for response in responses if response.status_code == 200]
        new_token = winners[0]["refresh_token"] if winners else token
        after = await client.post("/auth/refresh", json={"refresh_token": new_token})
    return Counter(response.status_code for response in responses), after.status_code


async def deactivate_while_refreshing(admin_token: str) -> list[tuple[int, int, int]]:
    """Each round, a superuser deactivates a user while the user refreshes.

    Return, per round, the deactivation's status and what the refresh's outcome is worth
    afterwards: the status of refreshing again with it, and of its access token.
    """
    transport = httpx2.ASGITransport(app=create_app())
    admin = {"Authorization": f"Bearer {admin_token}"}
    outcomes = []
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        for round_ in range(DEACTIVATION_ROUNDS):
            email = DEACTIVATED_EMAIL.format(round_)
            user = (await client.post("/users", json={"email": email, "password": PASSWORD})).json()
            login = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
            deactivation, refreshed = await asyncio.gather(
                client.patch(f"/users/{user['id']}", json={"is_active": False}, headers=admin),
                client.post("/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}),
            )
            pair = refreshed.json() if refreshed.status_code == 200 else login.json()
            again = await client.post(
                "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            me = await client.get(
                "/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
            )
            outcomes.append((deactivation.status_code, again.status_code, me.status_code))
    return outcomes


async def log_in_admin() -> str:
    """Sign up and log in the race's superuser, whom the caller then promotes."""
    transport = httpx2.ASGITransport(app=create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.post("/users", json={"email": ADMIN_EMAIL, "password": PASSWORD})
        login = await client.post(
            "/auth/token", data={"username": ADMIN_EMAIL, "password": PASSWORD}
        )
    token: str = login.json()["access_token"]
    return token
{%- if cookiecutter.sqlalchemy_mode == "async" %}


@pytest.mark.anyio
@pytest.mark.usefixtures("committed_users")
async def test_only_one_of_many_concurrent_sign_ups_wins() -> None:
    statuses = await sign_up_concurrently(CONCURRENT_REQUESTS)

    assert statuses == Counter({201: 1, 409: CONCURRENT_REQUESTS - 1})


@pytest.mark.anyio
@pytest.mark.usefixtures("committed_users")
async def test_concurrent_refreshes_of_one_token_give_one_pair_and_revoke_the_family() -> None:
    statuses, after = await refresh_concurrently(2)

    assert statuses == Counter({200: 1, 401: 1})
    assert after == 401


@pytest.mark.anyio
@pytest.mark.usefixtures("committed_users")
async def test_a_deactivation_racing_a_refresh_leaves_no_live_token(engine: AsyncEngine) -> None:
    admin_token = await log_in_admin()
    async with engine.begin() as connection:
        await connection.execute(
            update(User).where(User.email == ADMIN_EMAIL).values(is_superuser=True)
        )

    outcomes = await deactivate_while_refreshing(admin_token)

    assert outcomes == [(200, 401, 403)] * DEACTIVATION_ROUNDS
{%- else %}


@pytest.mark.usefixtures("committed_users")
def test_only_one_of_many_concurrent_sign_ups_wins() -> None:
    statuses = asyncio.run(sign_up_concurrently(CONCURRENT_REQUESTS))

    assert statuses == Counter({201: 1, 409: CONCURRENT_REQUESTS - 1})


@pytest.mark.usefixtures("committed_users")
def test_concurrent_refreshes_of_one_token_give_one_pair_and_revoke_the_family() -> None:
    statuses, after = asyncio.run(refresh_concurrently(2))

    assert statuses == Counter({200: 1, 401: 1})
    assert after == 401


@pytest.mark.usefixtures("committed_users")
def test_a_deactivation_racing_a_refresh_leaves_no_live_token(engine: Engine) -> None:
    admin_token = asyncio.run(log_in_admin())
    with engine.begin() as connection:
        connection.execute(update(User).where(User.email == ADMIN_EMAIL).values(is_superuser=True))

    outcomes = asyncio.run(deactivate_while_refreshing(admin_token))

    assert outcomes == [(200, 401, 403)] * DEACTIVATION_ROUNDS
{%- endif %}
