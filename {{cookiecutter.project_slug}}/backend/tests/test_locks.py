"""A locked table costs a request a bounded wait: a 503 to retry, never a hang."""

import contextlib
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, delete
from sqlalchemy.exc import DBAPIError

from app.core.config import get_settings
from app.db import session as db_session
{%- if cookiecutter.database == "postgresql" %}
from app.db.postgresql import bound_statement_time
{%- endif %}
from app.main import create_app
from app.models.user import User
{%- if cookiecutter.database == "postgresql" %}
from tests.database import ON_POSTGRESQL, TEST_DATABASE_URL
{%- else %}
from tests.database import TEST_DATABASE_URL
{%- endif %}
from tests.factories import DEFAULT_PASSWORD, unique_email

# How long the app's requests may wait for a lock in this test: far below the default limits.
LOCK_WAIT_MS = 500
SHORT_WAITS = {"DB_BUSY_TIMEOUT_MS": LOCK_WAIT_MS}
{%- if cookiecutter.database == "postgresql" %}


@pytest.fixture
def short_statement_timeout() -> Iterator[None]:
    """The app's statement timeout on the test database: LOCK_WAIT_MS during the test.

    The server keeps it for the app's role, as the migrations set it from
    DB_STATEMENT_TIMEOUT_MS: the app's sessions opened meanwhile start with it. The SQLite
    fallback waits for its lock DB_BUSY_TIMEOUT_MS instead.
    """
    if not ON_POSTGRESQL:
        yield
        return
    engine = create_engine(TEST_DATABASE_URL)
    try:
        with engine.begin() as connection:
            bound_statement_time(connection, timeout_ms=LOCK_WAIT_MS)
        yield
    finally:
        with engine.begin() as connection:
            bound_statement_time(connection, timeout_ms=get_settings().DB_STATEMENT_TIMEOUT_MS)
        engine.dispose()


def lock_users(connection: Connection) -> None:
    """Take a lock that makes every writer to `users` wait, until the transaction ends."""
    if ON_POSTGRESQL:
        # Should the request wait forever, the server ends this session, and its lock, after 10 s.
        connection.exec_driver_sql("SET idle_in_transaction_session_timeout = '10s'")
        connection.exec_driver_sql("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
{%- else %}


def lock_users(connection: Connection) -> None:
    """Take SQLite's write lock, which makes every other writer wait, until the transaction ends."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
{%- endif %}
{%- if cookiecutter.sqlalchemy_mode == "async" %}


@pytest.fixture
def impatient_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of the app whose requests give up waiting for a lock after LOCK_WAIT_MS."""
    engine = db_session.create_engine_from_settings(get_settings().model_copy(update=SHORT_WAITS))
    monkeypatch.setattr(db_session, "get_engine", lambda: engine)
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client
        # Pooled connections belong to the client's event loop, which ends with the block.
        portal = client.portal
        assert portal is not None
        portal.call(engine.dispose)
{%- else %}


@pytest.fixture
def impatient_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of the app whose requests give up waiting for a lock after LOCK_WAIT_MS."""
    engine = db_session.create_engine_from_settings(get_settings().model_copy(update=SHORT_WAITS))
    monkeypatch.setattr(db_session, "get_engine", lambda: engine)
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client
    engine.dispose()
{%- endif %}
{%- if cookiecutter.database == "postgresql" %}


@pytest.mark.usefixtures("engine", "short_statement_timeout")
{%- else %}


@pytest.mark.usefixtures("engine")
{%- endif %}
def test_a_write_to_a_locked_table_is_a_503_once_the_lock_wait_is_over(
    impatient_client: TestClient,
) -> None:
    email = unique_email("locked")
    # A connection of its own, outside any test transaction: the app's requests see its lock.
    holder = create_engine(TEST_DATABASE_URL)
    try:
        with holder.connect() as connection:
            lock_users(connection)
            try:
                started = time.monotonic()
                response = impatient_client.post(
                    "/users", json={"email": email, "password": DEFAULT_PASSWORD}
                )
                waited = time.monotonic() - started
            finally:
                # The server may have ended the holder's session already.
                with contextlib.suppress(DBAPIError):
                    connection.rollback()
        # Nothing to delete, unless the request got through.
        with holder.begin() as connection:
            connection.execute(delete(User).where(User.email == email))
    finally:
        holder.dispose()

    assert response.status_code == 503
    assert response.json()["code"] == "database_unavailable"
    assert waited < LOCK_WAIT_MS / 1000 + 3
