"""Races the database decides: concurrent sign-ups with one email, concurrent refreshes."""

import asyncio
from collections import Counter
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from collections.abc import AsyncIterator

import httpx2
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
{%- else %}
from collections.abc import Iterator

import httpx2
import pytest
from sqlalchemy import Engine, delete
{%- endif %}

from app.main import create_app
from app.models.user import User

CONCURRENT_REQUESTS = 20
EMAIL = "race@example.com"
REFRESH_EMAIL = "refresh-race@example.com"
PASSWORD = "correct-horse-9"


{% if cookiecutter.sqlalchemy_mode == "async" -%}
@pytest.fixture
async def committed_users(engine: AsyncEngine) -> AsyncIterator[None]:
    """Let requests commit for real (separate connections), and delete what they wrote."""
    yield
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.email.in_([EMAIL, REFRESH_EMAIL])))
    await engine.dispose()
{%- else -%}
@pytest.fixture
def committed_users(engine: Engine) -> Iterator[None]:
    """Let requests commit for real (separate connections), and delete what they wrote."""
    yield
    with engine.begin() as connection:
        connection.execute(delete(User).where(User.email.in_([EMAIL, REFRESH_EMAIL])))
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
{%- endif %}
