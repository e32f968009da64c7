"""What a request costs PostgreSQL, what a connection the server closed costs a request, and
the first migration on a server where the database does not exist yet.

The app runs on its own engine here, outside any test transaction, so that what reaches the
server is exactly what a served app sends.
"""

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import (
    URL,
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    inspect,
    make_url,
    text,
    update,
)

from app.core.config import PROJECT_ROOT
from app.db.session import get_engine
from app.main import create_app
from app.models.user import User
from tests.database import TEST_DATABASE_URL, run_on_server
from tests.factories import bearer, log_in, sign_up

# conftest.py leaves this module out when the tests fall back to SQLite.
pytestmark = pytest.mark.usefixtures("engine")


class ServerStatements:
    """What the app's engine sends the server: statements, transaction control and pings."""

    def __init__(self, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        self.backend_pids: set[int] = set()
        self.engine = engine
        self.listeners: dict[str, Callable[..., None]] = {
            "before_cursor_execute": self._statement,
            "begin": self._begin,
            "commit": self._commit,
            "checkout": self._checkout,
        }
        for name, listener in self.listeners.items():
            event.listen(engine, name, listener)
        ping = engine.dialect.do_ping

        def counted_ping(dbapi_connection: Any) -> bool:
            self.sent.append("ping")
            return ping(dbapi_connection)

        monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)

    def _statement(self, _connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        self.sent.append(" ".join(statement.split())[:60])

    def _begin(self, connection: Connection) -> None:
        # Without autocommit psycopg sends BEGIN before the first statement, and COMMIT at the end.
        if not _autocommit(connection):
            self.sent.append("BEGIN")

    def _commit(self, connection: Connection) -> None:
        if not _autocommit(connection):
            self.sent.append("COMMIT")

    def _checkout(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        self.backend_pids.add(record.driver_connection.info.backend_pid)

    def stop(self) -> None:
        for name, listener in self.listeners.items():
            event.remove(self.engine, name, listener)

    def during(self, request: Any) -> list[str]:
        """What the server received while `request()` ran."""
        self.sent.clear()
        request()
        return list(self.sent)


def _autocommit(connection: Connection) -> bool:
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
{%- if cookiecutter.sqlalchemy_mode == "async" %}


@pytest.fixture
def app_client() -> Iterator[TestClient]:
    """A client of the app on its own engine: every request commits for real."""
    with TestClient(create_app()) as client:
        yield client
        # Pooled connections belong to the client's event loop, which ends with the block.
        portal = client.portal
        assert portal is not None
        portal.call(get_engine().dispose)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerStatements]:
    recorded = ServerStatements(get_engine().sync_engine, monkeypatch)
    yield recorded
    recorded.stop()
{%- else %}


@pytest.fixture
def app_client() -> Iterator[TestClient]:
    """A client of the app on its own engine: every request commits for real."""
    with TestClient(create_app()) as client:
        yield client
    get_engine().dispose()


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerStatements]:
    recorded = ServerStatements(get_engine(), monkeypatch)
    yield recorded
    recorded.stop()
{%- endif %}


@pytest.fixture
def database() -> Iterator[Engine]:
    """A connection of the test's own to the database; the users it made are deleted at the end."""
    engine = create_engine(TEST_DATABASE_URL)
    yield engine
    with engine.begin() as connection:
        connection.execute(delete(User).where(User.email.like("round-trips-%")))
    engine.dispose()


def logged_in(client: TestClient, email: str) -> tuple[dict[str, Any], dict[str, str]]:
    user = sign_up(client, email=email).json()
    return user, bearer(log_in(client, email).json()["access_token"])


def test_an_authenticated_read_costs_at_most_two_statements(
    app_client: TestClient, statements: ServerStatements, database: Engine
) -> None:
    admin, admin_headers = logged_in(app_client, "round-trips-admin@example.com")
    other, _ = logged_in(app_client, "round-trips-other@example.com")
    with database.begin() as connection:
        connection.execute(update(User).where(User.id == admin["id"]).values(is_superuser=True))

    me = statements.during(lambda: app_client.get("/users/me", headers=admin_headers))
    lookup = statements.during(
        lambda: app_client.get(f"/users/{other['id']}", headers=admin_headers)
    )

    # The caller and their session in one query; no BEGIN, COMMIT or ping around it.
    assert len(me) == 1, me
    assert me[0].startswith("SELECT"), me
    assert len(lookup) == 2, lookup
    assert app_client.get(f"/users/{other['id']}", headers=admin_headers).status_code == 200


def test_a_connection_the_server_closed_costs_no_request_an_error(
    app_client: TestClient, statements: ServerStatements, database: Engine
) -> None:
    _, headers = logged_in(app_client, "round-trips-restart@example.com")
    assert app_client.get("/users/me", headers=headers).status_code == 200
    pooled = set(statements.backend_pids)
    # What a restart or a failover does to every pooled connection, and what it says to them.
    with database.connect() as connection:
        for pid in pooled:
            connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
    statements.backend_pids.clear()

    answers = [app_client.get("/users/me", headers=headers).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert statements.backend_pids, "no connection was checked out"
    assert not statements.backend_pids & pooled, "a closed connection was handed out"


@pytest.fixture
def fresh_database() -> Iterator[URL]:
    """The URL of a database the test server does not have; dropped afterwards."""
    url = make_url(TEST_DATABASE_URL)
    fresh = url.set(database=f"{url.database}_fresh")
    drop = f'DROP DATABASE IF EXISTS "{fresh.database}" WITH (FORCE)'
    run_on_server(TEST_DATABASE_URL, drop)
    yield fresh
    run_on_server(TEST_DATABASE_URL, drop)


def migrate(url: URL) -> subprocess.CompletedProcess[str]:
    """`alembic upgrade head` on `url`, as `make db-upgrade` runs it."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", "backend/alembic.ini", "upgrade", "head"],
        cwd=PROJECT_ROOT,
        env=os.environ | {"DATABASE_URL": url.render_as_string(hide_password=False)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_first_migration_creates_a_missing_database(fresh_database: URL) -> None:
    result = migrate(fresh_database)

    assert result.returncode == 0, result.stderr
    assert f'Created the database "{fresh_database.database}".' in result.stderr
    engine = create_engine(fresh_database)
    try:
        with engine.connect() as connection:
            assert {"users", "alembic_version"} <= set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert migrate(fresh_database).returncode == 0  # and the next run just connects


def test_a_role_that_may_not_create_the_database_is_told_how_in_one_line(
    fresh_database: URL,
) -> None:
    role, password = f"{fresh_database.database}_role", secrets.token_urlsafe(16)
    run_on_server(
        TEST_DATABASE_URL,
        f'DROP ROLE IF EXISTS "{role}"',
        f"CREATE ROLE \"{role}\" LOGIN NOCREATEDB PASSWORD '{password}'",
    )
    try:
        result = migrate(fresh_database.set(username=role, password=password))
    finally:
        run_on_server(TEST_DATABASE_URL, f'DROP ROLE IF EXISTS "{role}"')

    name = fresh_database.database
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f'error: the database "{name}" does not exist, and the role "{role}"')
    assert f"createdb --host {fresh_database.host} --port {fresh_database.port or 5432} " in line
    in_psql = f'CREATE DATABASE "{name}" OWNER "{role}";'
    assert f"--owner {role} {name}   (or, in psql: {in_psql})" in line
    assert password not in result.stderr
    assert "Traceback" not in result.stderr
