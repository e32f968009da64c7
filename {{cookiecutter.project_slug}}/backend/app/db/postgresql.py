"""PostgreSQL connections that wait a bounded time, and are replaced once the server closes them;
and the database itself, created when it does not exist yet."""

import select
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import URL, Connection, Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

from app.core.config import Settings


def connect_args(settings: Settings) -> dict[str, Any]:
    """libpq and psycopg options for every connection."""
    return {
        "connect_timeout": settings.DB_CONNECT_TIMEOUT,
        # None turns psycopg's automatic server-side prepared statements off.
        "prepare_threshold": 5 if settings.DB_PREPARED_STATEMENTS else None,
        "tcp_user_timeout": settings.DB_TCP_USER_TIMEOUT_MS,
        # An idle pooled connection whose server vanished is noticed within about 25 s.
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }


def replace_dropped_connections(engine: Engine) -> None:
    """Give out no pooled connection that the server has closed, at the cost of one poll(2).

    An idle connection receives nothing, unless the server ends it (a restart, a failover,
    `pg_terminate_backend`): then its socket turns readable, with the server's last message or
    the end of the stream. Such a connection is discarded at checkout and the pool hands out
    another one, so a restarted server costs no request an error, as a pre-ping would, without
    a pre-ping's round trip. A peer that vanished without a word is caught by the TCP timeouts
    of `connect_args`. An async engine passes its `sync_engine`.
    """

    @event.listens_for(engine, "checkout")
    def _discard_if_closed(
        _dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: Any
    ) -> None:
        connection = record.driver_connection
        if connection is None or connection.closed or _has_input(connection.pgconn.socket):
            raise DisconnectionError("The server closed the connection")


def _has_input(socket: int) -> bool:
    poller = select.poll()
    poller.register(socket, select.POLLIN)
    return bool(poller.poll(0))


def bound_statement_time(connection: Connection, *, timeout_ms: int) -> None:
    """Cancel the statements of this role in this database that run longer than `timeout_ms`.

    A default of the role in the database (`ALTER ROLE ... IN DATABASE ... SET`), which every
    new session starts with: no round trip per request or per connection, and it holds behind
    PgBouncer in transaction mode, which passes no startup `options` on and keeps no session's
    `SET`. The migrations set it from `DB_STATEMENT_TIMEOUT_MS` each time they run (0 removes
    it); sessions already open keep the value they started with until they are replaced.
    """
    database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
    quoted = connection.dialect.identifier_preparer.quote(database)
    role_in_database = f"ALTER ROLE CURRENT_USER IN DATABASE {quoted}"
    if timeout_ms > 0:
        connection.exec_driver_sql(f"{role_in_database} SET statement_timeout = {int(timeout_ms)}")
    else:
        connection.exec_driver_sql(f"{role_in_database} RESET statement_timeout")


class CannotCreateDatabase(Exception):
    """The database does not exist, and its role may not create it: the message says how to."""


def is_missing_database(url: URL, error: Exception) -> bool:
    """Whether connecting to `url` failed because its database does not exist (yet)."""
    return f'database "{url.database}" does not exist' in str(error)


def create_database(url: URL) -> None:
    """Create the database `url` names, owned by its role, from the server's `postgres` database.

    `CannotCreateDatabase` when the role may not (it lacks CREATEDB) or cannot reach `postgres`:
    its message is the one line that gives the command to run instead.
    """
    name, role = url.database or "", url.username or ""
    maintenance = url.set(drivername="postgresql", database="postgres")
    try:
        with psycopg.connect(
            maintenance.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
        ) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.DuplicateDatabase:
        return  # another replica created it meanwhile
    except psycopg.Error as error:
        reason = " ".join(str(error).split()).removeprefix("connection failed: ")
        host = f"--host {url.host} --port {url.port or 5432}"
        raise CannotCreateDatabase(
            f'error: the database "{name}" does not exist, and the role "{role}" cannot create '
            f"it ({reason}); as a PostgreSQL superuser, run: createdb {host} --owner {role} "
            f'{name}   (or, in psql: CREATE DATABASE "{name}" OWNER "{role}";)'
        ) from None
