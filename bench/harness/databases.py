"""PostgreSQL: the run's databases, and the users every one of them holds."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from typing import NamedTuple

import psycopg
from argon2 import PasswordHasher
from psycopg import sql

from .config import HOST, MAINTENANCE_DB, PASSWORD, PG_SERVER, BenchError, log

FIRST_CREATED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BENCH_LOCK_KEY = 0x62656E6368  # "bench": held by the run that uses the server (hold_server)


class UserRow(NamedTuple):
    """A row of `users`, in COPY's column order."""

    id: uuid.UUID
    email: str
    hashed_password: str
    is_active: bool
    is_superuser: bool
    created_at: dt.datetime
    updated_at: dt.datetime


def connect(database: str = MAINTENANCE_DB) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True, connect_timeout=10)


def create_database(name: str) -> None:
    with connect() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def copy_database(source: str, name: str) -> None:
    """A new database `name`, a copy of `source` (schema, rows, statistics).

    PostgreSQL copies a template database only while nobody is connected to it: copy before
    any server opens `source`.
    """
    with connect() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(source)
            )
        )


def drop_database(name: str) -> None:
    try:
        with connect() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as error:
        log(f"could not drop database {name}: {error}")


def sqlalchemy_url(database: str) -> str:
    return f"postgresql+psycopg://postgres@{HOST}:5432/{database}"


def project_hasher() -> PasswordHasher:
    """Argon2id with the baked project's default cost (its ARGON2_* settings)."""
    return PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)


def make_users(count: int) -> list[UserRow]:
    """The same rows for every database: fixed ids, emails, timestamps and one Argon2 hash.

    The first user is a superuser: its token reads any user, so GET /users/{id} can look up
    random ids and answer 200, as the reference's lookup does.
    """
    hashed = project_hasher().hash(PASSWORD)
    users = []
    for number in range(count):
        created = FIRST_CREATED_AT + dt.timedelta(seconds=number)
        user_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://bench.example.com/users/{number}")
        email = f"user{number:05d}@bench.example.com"  # lower case: the table checks it
        users.append(UserRow(user_id, email, hashed, True, number == 0, created, created))
    return users


def load_users(database: str, users: list[UserRow]) -> None:
    columns = ", ".join(UserRow._fields)
    with connect(database) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY users ({columns}) FROM STDIN") as copy,
        ):
            for user in users:
                copy.write_row(user)
        connection.execute("ANALYZE users")


def hold_server(stack: contextlib.ExitStack) -> None:
    """Take the PostgreSQL server for this run: a session-level advisory lock, held to the end.

    Every run uses the same database names: a second run's set-up and clean-up would drop the
    first's databases under its servers. It stops here instead.
    """
    connection = connect()
    stack.callback(connection.close)
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (BENCH_LOCK_KEY,)).fetchone()
    if not row or not row[0]:
        raise BenchError(
            "another benchmark run is using this PostgreSQL server (the same database names): "
            "wait for it to end"
        )


def connections_in_use() -> tuple[int, int]:
    """PostgreSQL's max_connections, and the client sessions open now (this one excepted)."""
    with connect() as connection:
        limit = connection.execute("SHOW max_connections").fetchone()
        used = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        ).fetchone()
    return int(str(limit[0] if limit else 0)), int(str(used[0] if used else 1)) - 1


def sessions_opened(database: str) -> int:
    """Sessions ever established to `database` (pg_stat_database.sessions, PostgreSQL 14+)."""
    with connect() as connection:
        row = connection.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
    return int(str(row[0])) if row and row[0] is not None else 0


def postgres_version() -> str:
    with connect() as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"
