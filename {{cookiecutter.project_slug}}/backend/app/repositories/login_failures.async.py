"""Queries and writes for `LoginFailure`: the counters behind login throttling."""

import hashlib
import ipaddress
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from app.db.types import UTCDateTime
from app.models.login_failure import LoginFailure
from app.models.user import normalize_email
from app.repositories.base import BaseRepository

# IPv6 hands a client a /64 at least: counting single addresses would give it 2**64 budgets.
IPV6_CLIENT_PREFIX = 64


def account_key(email: str) -> str:
    """The counter of an account, by its normalised email (registered or not), hashed."""
    digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()
    return f"account:{digest}"


def address_key(address: str) -> str:
    """The counter of a client address (of its /64 for IPv6)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"address:{address[:60]}"
    if parsed.version == 6:
        network = ipaddress.ip_network(f"{parsed}/{IPV6_CLIENT_PREFIX}", strict=False)
        return f"address:{network}"
    return f"address:{parsed}"


class LoginFailureRepository(BaseRepository[LoginFailure]):
    """Fixed-window counters: the first failure opens a window, later ones count in it."""

    model = LoginFailure

    async def retry_after(
        self, limits: Mapping[str, int], *, now: datetime, window: timedelta
    ) -> int | None:
        """Seconds until every counter in `limits` is below its limit again; None if all are."""
        statement = select(LoginFailure).where(
            LoginFailure.key.in_(limits), LoginFailure.window_started_at > now - window
        )
        waits = [
            (counter.window_started_at + window - now).total_seconds()
            for counter in await self.session.scalars(statement)
            if counter.failures >= limits[counter.key]
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    async def record(self, keys: list[str], *, now: datetime, window: timedelta) -> None:
        """Count one failure for each key, in a new window if the last one is over."""
        window_over = LoginFailure.window_started_at <= now - window
        dialect = self.session.get_bind().dialect.name
        for key in sorted(keys):  # one order for every writer: no deadlock between them
            statement = _insert(dialect).values(key=key, failures=1, window_started_at=now)
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=[LoginFailure.key],
                    set_={
                        "failures": case((window_over, 1), else_=LoginFailure.failures + 1),
                        "window_started_at": case(
                            (window_over, literal(now, UTCDateTime())),
                            else_=LoginFailure.window_started_at,
                        ),
                    },
                )
            )

    async def clear(self, key: str) -> None:
        """Forget the failures of one key (a successful login clears its account's)."""
        await self.session.execute(delete(LoginFailure).where(LoginFailure.key == key))

    async def prune(self, *, now: datetime, window: timedelta) -> int:
        """Delete the counters whose window is over."""
        statement = delete(LoginFailure).where(LoginFailure.window_started_at <= now - window)
        result = await self.session.execute(statement)
        return cast("CursorResult[Any]", result).rowcount


def _insert(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which can turn into an UPDATE on a conflict."""
    if dialect == "postgresql":
        return postgresql.insert(LoginFailure)
    return sqlite.insert(LoginFailure)
