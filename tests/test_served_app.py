"""A baked project served by uvicorn, driven over real HTTP as a user would."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import make_url

from tests.conftest import (
    Baked,
    Combination,
    drop_database,
    each_combination,
    each_postgresql_combination,
    postgres_server_url,
    recreate_database,
)
from tests.tcp_proxy import TcpProxy

CONCURRENT_SIGN_UPS = 50


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    url: str
    proxy: TcpProxy | None


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[ExitStack, dict[Combination, Served]]]:
    """Servers by combination, started on first use and stopped at the end of the session."""
    with ExitStack() as stack:
        yield stack, {}


@pytest.fixture
def served(
    baked: Baked,
    servers: tuple[ExitStack, dict[Combination, Served]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Served:
    """The project served for the test's combination, one server per combination."""
    stack, running = servers
    if baked.combination not in running:
        directory = tmp_path_factory.mktemp(f"served-{baked.combination.id}")
        running[baked.combination] = stack.enter_context(serving(baked, directory))
    return running[baked.combination]


@contextmanager
def serving(baked: Baked, directory: Path) -> Iterator[Served]:
    """The project migrated and served on a free port; PostgreSQL is reached through a proxy."""
    proxy: TcpProxy | None = None
    database_name = ""
    if baked.combination.database == "postgresql":
        server = postgres_server_url()
        assert server is not None
        database_name = f"{make_url(baked.env['TEST_DATABASE_URL']).database}_served"
        recreate_database(server, database_name)
        direct = make_url(server).set(database=database_name)
        proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
        proxy.start()
        migrate_url = direct.render_as_string(hide_password=False)
        serve_url = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
    else:
        migrate_url = serve_url = f"sqlite:///{directory / 'served.db'}"
    baked.run(
        str(Path(baked.env["VENV"]) / "bin/alembic"),
        "-c",
        "backend/alembic.ini",
        "upgrade",
        "head",
        env={"DATABASE_URL": migrate_url},
    )
    port = free_port()
    env = {
        **baked.env,
        "DATABASE_URL": serve_url,
        "LOG_LEVEL": "WARNING",
        # Argon2 at full strength would make 50 sign-ups a benchmark, not a test.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
    }
    process = subprocess.Popen(
        [
            str(Path(baked.env["VENV"]) / "bin/uvicorn"),
            "--factory",
            "app.main:create_app",
            "--app-dir",
            "backend",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=baked.path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start within 30 s"
            time.sleep(0.1)
        yield Served(url, proxy)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if proxy is not None:
            proxy.stop()
            server = postgres_server_url()
            assert server is not None
            drop_database(server, database_name)


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
