"""Engine and session lifecycle: one session per request, one owner of its transaction."""

import math
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache, partial

import anyio
{%- if cookiecutter.database == "postgresql" %}
from sqlalchemy import Connection, Engine, create_engine, make_url
{%- else %}
from sqlalchemy import Connection, Engine, create_engine
{%- endif %}
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import Settings, get_settings
{% if cookiecutter.database == "postgresql" -%}
from app.db import postgresql, sqlite
{%- else -%}
from app.db import sqlite
{%- endif %}

# Bound per use, so importing this module never builds an engine. Objects stay readable after
# commit without another query, and a session bound to a connection that is already in a
# transaction works inside a SAVEPOINT, which is how the tests isolate themselves.
SessionLocal = sessionmaker(
    autoflush=False,
    expire_on_commit=False,
    join_transaction_mode="create_savepoint",
)

# The threads that end request sessions: never the pool the routes share, and never waited for,
# since routes waiting in that pool may be waiting for the very locks a session end releases.
_SESSION_END_THREADS = anyio.CapacityLimiter(math.inf)


def create_engine_from_settings(settings: Settings) -> Engine:
    """Build the engine `settings.DATABASE_URL` describes."""
{%- if cookiecutter.database == "postgresql" %}
    if make_url(settings.DATABASE_URL).get_backend_name() == "sqlite":
        return _create_sqlite_engine(settings)
    engine = create_engine(
        settings.DATABASE_URL,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_timeout=settings.DB_POOL_TIMEOUT,
        # Database errors never carry the statement's values (emails, password hashes) into
        # exception messages and logs.
        hide_parameters=True,
        connect_args=postgresql.connect_args(settings),
    )
    postgresql.replace_dropped_connections(engine)
    return engine
{%- else %}
    return _create_sqlite_engine(settings)
{%- endif %}


def _create_sqlite_engine(settings: Settings) -> Engine:
    """A SQLite engine, with the pragmas and the transaction recipe SQLite needs."""
    engine = create_engine(
        settings.DATABASE_URL,
        hide_parameters=True,
        # A request's session is used by the route's worker thread and ended by another one
        # (never by two at once), so connections must not be tied to one thread.
        connect_args={"check_same_thread": False},
    )
    sqlite.create_private_file(engine)
    sqlite.use_explicit_transactions(engine)
    sqlite.configure_connections(engine, busy_timeout_ms=settings.DB_BUSY_TIMEOUT_MS)
    return engine


@lru_cache
def get_engine() -> Engine:
    """Return the process-wide engine, created on first use."""
    return create_engine_from_settings(get_settings())


def get_read_engine() -> Engine:
    """The process-wide engine, set up for work that only reads; it shares the engine's pool."""
    return _read_only(get_engine())


@lru_cache(maxsize=4)
def _read_only(engine: Engine) -> Engine:
{%- if cookiecutter.database == "postgresql" %}
    # On PostgreSQL each statement runs on its own (autocommit): a read costs no BEGIN and no
    # COMMIT round trip, and one statement sees one consistent snapshot anyway. On SQLite a read
    # transaction waits for no writer.
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
{%- else %}
    # A read transaction waits for no writer.
{%- endif %}
    return engine.execution_options(**{sqlite.READ_ONLY: True})


def end_session(session: Session, *, commit: bool) -> None:
    """Commit (or roll back) the session's transaction and give its connection back."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


@contextmanager
def session_scope(bind: Engine | Connection) -> Iterator[Session]:
    """Yield a session whose transaction commits on success and rolls back on error."""
    session = SessionLocal(bind=bind)
    try:
        yield session
    except BaseException:
        end_session(session, commit=False)
        raise
    end_session(session, commit=True)


# A route that must not hold a connection while it waits (for a password hash) opens short
# transactions of its own: `with transactions() as session: ...`, each committed at its end.
Transactions = Callable[[], AbstractContextManager[Session]]


async def get_transactions() -> Transactions:
    """FastAPI dependency: a factory of short transactions, each with a session of its own."""
    return partial(session_scope, get_engine())


async def get_reads() -> Transactions:
    """FastAPI dependency: a factory of sessions that only read (`get_read_engine`).

    `with reads() as session: ...` holds a connection for the block only. Work whose reads
    must agree with each other, or that writes, uses a transaction (`get_db`, `get_transactions`).
    """
    return partial(session_scope, get_read_engine())


async def get_db() -> AsyncIterator[Session]:
    """FastAPI dependency: a session per request, committed before the response is sent.

    The session is synchronous, the dependency is not: opening a session does no I/O, so only
    its end needs a worker thread, from `_SESSION_END_THREADS`, so a request holding locks can
    always release them.
    """
    session = SessionLocal(bind=get_engine())
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await _end_in_thread(session, commit=False)
        raise
    with anyio.CancelScope(shield=True):
        await _end_in_thread(session, commit=True)


async def _end_in_thread(session: Session, *, commit: bool) -> None:
    await anyio.to_thread.run_sync(
        partial(end_session, session, commit=commit), limiter=_SESSION_END_THREADS
    )
