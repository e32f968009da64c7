"""PostgreSQL connections that give up in bounded time: connecting, statements, silent peers."""

from typing import Any

from sqlalchemy import Connection, Engine, event

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


def limit_statement_time(engine: Engine, *, timeout_ms: int) -> None:
    """Cancel any statement that runs longer than `timeout_ms`, in every transaction.

    `SET LOCAL` lasts one transaction, so it also works behind PgBouncer in transaction mode,
    which refuses the startup `options` parameter and does not keep session-level `SET`s. An
    async engine passes its `sync_engine`.
    """
    if timeout_ms <= 0:
        return

    @event.listens_for(engine, "begin")
    def _set_statement_timeout(connection: Connection) -> None:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
