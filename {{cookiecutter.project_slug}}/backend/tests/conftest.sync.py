"""Test fixtures: the schema built once from the migrations; every test rolled back."""

from collections.abc import Callable, Iterator
from functools import partial
from typing import Protocol, TypeVar

import pytest
from alembic import command
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

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
def engine() -> Iterator[Engine]:
    """The test database, migrated to the newest revision once per run."""
    create_test_database()
    command.upgrade(project_alembic_config(), "head")
    engine = get_engine()
    yield engine
    engine.dispose()
    remove_test_database()


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

    async def get_test_transactions() -> Transactions:
        return partial(session_scope, connection)

    app.dependency_overrides[get_db] = get_test_db
    app.dependency_overrides[get_transactions] = get_test_transactions
    # Reads too: they see the test's uncommitted rows.
    app.dependency_overrides[get_reads] = get_test_transactions
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
