"""Concurrent sign-ups with one email: the unique index decides, exactly one wins."""

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


{% if cookiecutter.sqlalchemy_mode == "async" -%}
@pytest.fixture
async def committed_users(engine: AsyncEngine) -> AsyncIterator[None]:
    """Let requests commit for real (separate connections), and delete what they wrote."""
    yield
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.email == EMAIL))
    await engine.dispose()
{%- else -%}
@pytest.fixture
def committed_users(engine: Engine) -> Iterator[None]:
    """Let requests commit for real (separate connections), and delete what they wrote."""
    yield
    with engine.begin() as connection:
        connection.execute(delete(User).where(User.email == EMAIL))
{%- endif %}


async def sign_up_concurrently(count: int) -> Counter[int]:
    emails = [EMAIL.upper() if i % 2 else EMAIL for i in range(count)]
    transport = httpx2.ASGITransport(app=create_app())
    async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = await asyncio.gather(
            *(
                client.post("/users", json={"email": email, "password": "correct-horse-9"})
                for email in emails
            )
        )
    return Counter(response.status_code for response in responses)


{% if cookiecutter.sqlalchemy_mode == "async" -%}
@pytest.mark.anyio
@pytest.mark.usefixtures("committed_users")
async def test_only_one_of_many_concurrent_sign_ups_wins() -> None:
    statuses = await sign_up_concurrently(CONCURRENT_REQUESTS)
{%- else -%}
@pytest.mark.usefixtures("committed_users")
def test_only_one_of_many_concurrent_sign_ups_wins() -> None:
    statuses = asyncio.run(sign_up_concurrently(CONCURRENT_REQUESTS))
{%- endif %}

    assert statuses == Counter({201: 1, 409: CONCURRENT_REQUESTS - 1})
