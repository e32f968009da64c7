"""Test fixtures: the schema built once from the migrations; every test rolled back.

Async: repository tests run on anyio's pytest plugin; API tests use `TestClient`, which serves
the app on an event loop of its own, so the test's connection is opened on that loop.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial
from typing import Protocol, TypeVar

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.db.session import (
    SessionLocal,
    Transactions,
    get_db,
    get_engine,
    get_reads,
    get_transactions,
    session_scope,
)
from app.main import create_app
from tests.database import (
{%- if cookiecutter.database == "postgresql" %}
    ON_POSTGRESQL,
{%- endif %}
    create_test_database,
    project_alembic_config,
    remove_test_database,
    report_lines,
)
from tests.mailbox import mailbox, smtp_server  # noqa: F401 - the suite's SMTP server

T = TypeVar("T")
{%- if cookiecutter.database == "postgresql" %}
# What only a PostgreSQL server does (round trips, closing connections) is not collected when the
# SQLite fallback stands in for it.
collect_ignore = [] if ON_POSTGRESQL else ["test_postgresql.py"]
{%- endif %}


def pytest_report_header() -> list[str]:
    """Say which database the run uses."""
    return report_lines()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests and fixtures run on asyncio, as the server does."""
    return "asyncio"


@pytest.fixture(scope="session")
def engine() -> Iterator[AsyncEngine]:
    """The test database, migrated to the newest revision once per run.

    Every test runs on an event loop of its own, and pooled connections belong to the loop
    that opened them: the fixtures that connect dispose of the pool before their loop ends.
    """
    create_test_database()
    command.upgrade(project_alembic_config(), "head")
    yield get_engine()
    remove_test_database()


async def begin_test_transaction(engine: AsyncEngine) -> AsyncConnection:
    """A connection inside a transaction that the test's end rolls back."""
    connection = await engine.connect()
    await connection.begin()
    return connection


async def roll_back_test_transaction(connection: AsyncConnection, engine: AsyncEngine) -> None:
    """Undo everything the test wrote, and close the pool of the test's event loop."""
    await connection.rollback()
    await connection.close()
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    connection = await begin_test_transaction(engine)
    yield connection
    await roll_back_test_transaction(connection, engine)


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session whose commits only release a SAVEPOINT of the test's transaction."""
    session = SessionLocal(bind=connection)
    yield session
    await session.close()


class InAppTransaction(Protocol):
    """Runs `work` on a session inside the transaction the app's requests use in this test."""

    def __call__(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T: ...


@pytest.fixture
def app() -> FastAPI:
    """The application; `client` runs its requests inside the test's transaction."""
    return create_app()


@pytest.fixture
def open_client(app: FastAPI) -> Iterator[TestClient]:
    """A client of `app` that turns server errors into 500 responses, as a real server does.

    The client serves the app on an event loop of its own, in a thread, reached through its
    portal.
    """
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def app_connection(open_client: TestClient, engine: AsyncEngine) -> Iterator[AsyncConnection]:
    """The test's connection, opened on the client's event loop so that requests can share it."""
    portal = open_client.portal
    assert portal is not None  # set while the client is open
    connection = portal.call(begin_test_transaction, engine)
    yield connection
    portal.call(roll_back_test_transaction, connection, engine)


@pytest.fixture
def client(app: FastAPI, open_client: TestClient, app_connection: AsyncConnection) -> TestClient:
    """The open client, its requests running inside the test's transaction."""

    async def get_test_db() -> AsyncIterator[AsyncSession]:
        async with session_scope(app_connection) as session:
            yield session

    async def get_test_transactions() -> Transactions:
        return partial(session_scope, app_connection)

    app.dependency_overrides[get_db] = get_test_db
    app.dependency_overrides[get_transactions] = get_test_transactions
    # Reads too: they see the test's uncommitted rows.
    app.dependency_overrides[get_reads] = get_test_transactions
    return open_client


@pytest.fixture
def in_app_transaction(client: TestClient, app_connection: AsyncConnection) -> InAppTransaction:
    """Run repository code where the app's requests will see it, on the client's event loop."""
    portal = client.portal
    assert portal is not None

    def run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def scoped() -> T:
            async with session_scope(app_connection) as session:
                return await work(session)

        return portal.call(scoped)

    return run
