"""What a request costs PostgreSQL, and what a connection the server closed costs a request.

The app runs on its own engine here, outside any test transaction, so that what reaches the
server is exactly what a served app sends.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, delete, event, text, update

from app.db.session import get_engine
from app.main import create_app
from app.models.user import User
from tests.database import TEST_DATABASE_URL
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
