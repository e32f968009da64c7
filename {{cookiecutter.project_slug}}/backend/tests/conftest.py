"""Test set-up: a database of the run's own, built from the migrations; every test rolled back.

The settings are fixed here, before any application code reads them, so the suite never
touches the development database nor reads secrets from `.env`.
"""

import os
import shutil
import tempfile
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
{%- else %}
from collections.abc import Callable, Iterator
{%- endif %}
from pathlib import Path
from typing import Protocol, TypeVar

import pytest
from alembic import command
from alembic.config import Config
{%- if cookiecutter.database == "postgresql" %}
from dotenv import dotenv_values
{%- endif %}
from fastapi import FastAPI
from fastapi.testclient import TestClient
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from sqlalchemy import {% if cookiecutter.database == "postgresql" %}create_engine, {% endif %}make_url{% if cookiecutter.database == "postgresql" %}, text{% endif %}
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
{%- else %}
from sqlalchemy import Connection, Engine, {% if cookiecutter.database == "postgresql" %}create_engine, {% endif %}make_url{% if cookiecutter.database == "postgresql" %}, text{% endif %}
from sqlalchemy.orm import Session
{%- endif %}

from app.core.config import get_settings
from app.db.session import SessionLocal, get_db, get_engine, session_scope
from app.main import create_app

T = TypeVar("T")

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
_DATABASE_DIRECTORY = tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-tests-")
{%- if cookiecutter.database == "postgresql" %}


def _test_database_url() -> str:
    """TEST_DATABASE_URL, suffixed per xdist worker; without it, a temporary SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL") or dotenv_values(".env").get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{_DATABASE_DIRECTORY}/test.db"
    parsed = make_url(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        parsed = parsed.set(database=f"{parsed.database}_{worker}")
    if parsed.database == make_url(get_settings().DATABASE_URL).database:
        pytest.exit("TEST_DATABASE_URL names the development database: the tests would wipe it.")
    return parsed.render_as_string(hide_password=False)


TEST_DATABASE_URL = _test_database_url()
ON_POSTGRESQL = make_url(TEST_DATABASE_URL).get_backend_name() == "postgresql"
{%- else %}
TEST_DATABASE_URL = f"sqlite:///{_DATABASE_DIRECTORY}/test.db"
{%- endif %}

os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATABASE_URL": TEST_DATABASE_URL,
        # Cheap Argon2 parameters: the suite hashes hundreds of passwords.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "64",
        "ARGON2_PARALLELISM": "1",
    }
)
get_settings.cache_clear()


def pytest_report_header() -> list[str]:
    """Say which database the run uses."""
    url = make_url(TEST_DATABASE_URL)
    database = f"database: {url.get_backend_name()} ({url.render_as_string(hide_password=True)})"
{%- if cookiecutter.database == "postgresql" %}
    if not ON_POSTGRESQL:
        fallback = "TEST_DATABASE_URL is not set: SQLite stands in, PostgreSQL itself is untested"
        return [database, fallback]
{%- endif %}
    return [database]
{%- if cookiecutter.database == "postgresql" %}


def run_on_server(url: str, *statements: str) -> None:
    """Run `statements` on the maintenance database of the server `url` points at."""
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    server.dispose()


def recreate_database(url: str) -> None:
    """Create the database `url` names, empty, dropping any previous one."""
    name = make_url(url).database
    run_on_server(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )


def drop_database(url: str) -> None:
    """Drop the database `url` names."""
    run_on_server(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
{%- endif %}


def project_alembic_config() -> Config:
    """The project's Alembic configuration, without its logging set-up."""
    config = Config(ALEMBIC_INI)
    config.attributes["configure_logger"] = False
    return config


{% if cookiecutter.sqlalchemy_mode == "async" -%}
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
{%- if cookiecutter.database == "postgresql" %}
    if ON_POSTGRESQL:
        recreate_database(TEST_DATABASE_URL)
{%- endif %}
    command.upgrade(project_alembic_config(), "head")
    yield get_engine()
{%- if cookiecutter.database == "postgresql" %}
    if ON_POSTGRESQL:
        drop_database(TEST_DATABASE_URL)
{%- endif %}
    shutil.rmtree(_DATABASE_DIRECTORY, ignore_errors=True)


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

    app.dependency_overrides[get_db] = get_test_db
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
{%- else -%}
@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """The test database, migrated to the newest revision once per run."""
{%- if cookiecutter.database == "postgresql" %}
    if ON_POSTGRESQL:
        recreate_database(TEST_DATABASE_URL)
{%- endif %}
    command.upgrade(project_alembic_config(), "head")
    engine = get_engine()
    yield engine
    engine.dispose()
{%- if cookiecutter.database == "postgresql" %}
    if ON_POSTGRESQL:
        drop_database(TEST_DATABASE_URL)
{%- endif %}
    shutil.rmtree(_DATABASE_DIRECTORY, ignore_errors=True)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session whose commits only release a SAVEPOINT of the test's transaction."""
    session = SessionLocal(bind=connection)
    yield session
    session.close()


@pytest.fixture
def app(connection: Connection) -> FastAPI:
    """The application, its requests running inside the test's transaction."""
    app = create_app()

    def get_test_db() -> Iterator[Session]:
        with session_scope(connection) as session:
            yield session

    app.dependency_overrides[get_db] = get_test_db
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of `app` that turns server errors into 500 responses, as a real server does."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class InAppTransaction(Protocol):
    """Runs `work` on a session inside the transaction the app's requests use in this test."""

    def __call__(self, work: Callable[[Session], T]) -> T: ...


@pytest.fixture
def in_app_transaction(connection: Connection) -> InAppTransaction:
    """Run repository code where the app's requests will see it."""

    def run(work: Callable[[Session], T]) -> T:
        with session_scope(connection) as session:
            return work(session)

    return run
{%- endif %}
