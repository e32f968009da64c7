"""Make SQLite behave like a server database: real transactions, foreign keys, concurrency."""

import contextlib
import os
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection

# The execution option of a connection that never writes: `connection.execution_options(...)`.
READ_ONLY = "read_only"


def use_explicit_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, decide where transactions begin, and begin them writing.

    The driver starts transactions lazily and never before DDL, which breaks SAVEPOINTs and
    transactional migrations; this is SQLAlchemy's documented recipe for pysqlite and aiosqlite.
    Transactions that may write run one at a time, so what a request reads stays true until
    it commits. An async engine passes its `sync_engine`.
    """

    @event.listens_for(engine, "connect")
    def _disable_driver_transactions(dbapi_connection: DBAPIConnection, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN, waiting up to the busy timeout for it. A
        # plain BEGIN takes it at the first write, and in WAL mode a transaction that has read
        # fails there at once, without waiting, if another one wrote meanwhile. Connections
        # that only read say so (`read_only`) and wait for nobody.
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_private_file(engine: Engine) -> None:
    """Create a missing database file readable and writable by its owner only (0600).

    SQLite would create it with the umask's mode, often readable by everyone: password hashes
    and refresh tokens included. An existing file keeps its mode, and SQLite's WAL and shared
    memory files take the database's. An async engine passes its `sync_engine`.
    """
    path = engine.url.database

    @event.listens_for(engine, "do_connect")
    def _create_file(*_: Any) -> None:
        if not path or path == ":memory:" or path.startswith("file:"):
            return
        # An existing file, or a missing directory: SQLite opens it, or says what is wrong.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))


def configure_connections(engine: Engine, *, busy_timeout_ms: int) -> None:
    """Enforce foreign keys and let readers and a writer work side by side (WAL)."""

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: DBAPIConnection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        finally:
            cursor.close()
