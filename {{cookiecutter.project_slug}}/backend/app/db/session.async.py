"""Engine and session lifecycle: one session per request, one owner of its transaction."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import lru_cache, partial

import anyio
{% if cookiecutter.database == "postgresql" -%}
from sqlalchemy import make_url
{% endif -%}
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.config import Settings, get_settings
{% if cookiecutter.database == "postgresql" -%}
from app.db import postgresql, sqlite
{%- else -%}
from app.db import sqlite
{%- endif %}

# Bound per use, so importing this module never builds an engine. Objects stay readable after
# commit without another query (an async session cannot load lazily), and a session bound to a
# connection that is already in a transaction works inside a SAVEPOINT, which is how the tests
# isolate themselves.
SessionLocal = async_sessionmaker(
    autoflush=False,
    expire_on_commit=False,
    join_transaction_mode="create_savepoint",
)


def create_engine_from_settings(settings: Settings) -> AsyncEngine:
    """Build the engine `settings.DATABASE_URL` describes; it connects on first use."""
{%- if cookiecutter.database == "postgresql" %}
    if make_url(settings.DATABASE_URL).get_backend_name() == "sqlite":
        return _create_sqlite_engine(settings)
    engine = create_async_engine(
        settings.DATABASE_URL,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_timeout=settings.DB_POOL_TIMEOUT,
        # Database errors never carry the statement's values (emails, password hashes) into
        # exception messages and logs.
        hide_parameters=True,
        connect_args=postgresql.connect_args(settings),
    )
    postgresql.replace_dropped_connections(engine.sync_engine)
    return engine
{%- else %}
    return _create_sqlite_engine(settings)
{%- endif %}


def _create_sqlite_engine(settings: Settings) -> AsyncEngine:
    """A SQLite engine, with the pragmas and the transaction recipe SQLite needs."""
    engine = create_async_engine(settings.DATABASE_URL, hide_parameters=True)
    sqlite.create_private_file(engine.sync_engine)
    sqlite.use_explicit_transactions(engine.sync_engine)
    sqlite.configure_connections(engine.sync_engine, busy_timeout_ms=settings.DB_BUSY_TIMEOUT_MS)
    return engine


@lru_cache
def get_engine() -> AsyncEngine:
    """Return the process-wide engine, created on first use.

    Pooled connections belong to the event loop that opened them. The server runs one loop; code
    that runs loops of its own (scripts, tests) awaits `get_engine().dispose()` before its loop
    ends.
    """
    return create_engine_from_settings(get_settings())


def get_read_engine() -> AsyncEngine:
    """The process-wide engine, set up for work that only reads; it shares the engine's pool."""
    return _read_only(get_engine())


@lru_cache(maxsize=4)
def _read_only(engine: AsyncEngine) -> AsyncEngine:
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


async def end_session(session: AsyncSession, *, commit: bool) -> None:
    """Commit (or roll back) the session's transaction and give its connection back."""
    try:
        if commit:
            await session.commit()
        else:
            await session.rollback()
    finally:
        await session.close()


@asynccontextmanager
async def session_scope(bind: AsyncEngine | AsyncConnection) -> AsyncIterator[AsyncSession]:
    """Yield a session whose transaction commits on success and rolls back on error.

    The end is shielded from cancellation (a client that disconnects, a timeout): otherwise the
    rollback would be cancelled too, and the connection left for the garbage collector.
    """
    session = SessionLocal(bind=bind)
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await end_session(session, commit=False)
        raise
    with anyio.CancelScope(shield=True):
        await end_session(session, commit=True)


# A route that must not hold a connection while it waits (for a password hash) opens short
# transactions of its own: `async with transactions() as session: ...`, each committed at its end.
Transactions = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def get_transactions() -> Transactions:
    """FastAPI dependency: a factory of short transactions, each with a session of its own."""
    return partial(session_scope, get_engine())


async def get_reads() -> Transactions:
    """FastAPI dependency: a factory of sessions that only read (`get_read_engine`).

    `async with reads() as session: ...` holds a connection for the block only. Work whose reads
    must agree with each other, or that writes, uses a transaction (`get_db`, `get_transactions`).
    """
    return partial(session_scope, get_read_engine())


async def get_db() -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session per request, committed before the response is sent.

    Everything runs on the event loop: no worker thread is involved at any step.
    """
    async with session_scope(get_engine()) as session:
        yield session
