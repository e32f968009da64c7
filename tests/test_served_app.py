"""A baked project served by uvicorn, driven over real HTTP as a user would."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx2

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
        fetched = client.get(f"/users/{created.json()['id']}")

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
