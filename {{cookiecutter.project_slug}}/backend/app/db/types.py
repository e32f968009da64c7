"""Column types that behave the same on every supported database."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine
from typing_extensions import override

# A double holds 15 significant decimal digits exactly (SQLite's only non-integer number).
MAX_EXACT_DIGITS = 15


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored and returned in UTC.

    PostgreSQL stores an instant and returns it in the session's time zone; SQLite stores naive
    text. Values are converted to UTC on the way in, and to (or marked as) UTC on the way out,
    whatever the server's or the session's time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @override
    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous: pass a timezone-aware value")
        return value.astimezone(UTC)

    @override
    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # PostgreSQL answers in the session's time zone (PGTZ, the server's `timezone`).
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A decimal number with a fixed number of places, `NUMERIC(precision, scale)`.

    PostgreSQL stores and returns it exactly. SQLite has no decimal type: it stores a double,
    which holds any number of up to 15 digits exactly enough to give it back, rounded to
    `scale` places, as the `Decimal` that was stored.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        if precision > MAX_EXACT_DIGITS:
            raise ValueError(f"at most {MAX_EXACT_DIGITS} digits round-trip through SQLite")
        super().__init__(precision=precision, scale=scale)
        self.precision, self.scale = precision, scale
        self.quantum = Decimal(1).scaleb(-scale)

    @override
    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # Floats in and out, without SQLAlchemy's warning about Decimal on SQLite.
            return dialect.type_descriptor(Numeric(asdecimal=False))
        return dialect.type_descriptor(Numeric(self.precision, self.scale))

    @override
    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return float(value)

    @override
    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        # repr() is the shortest text that reads back as the same double: 0.1, not 0.1000...
        return Decimal(repr(value) if isinstance(value, float) else value).quantize(self.quantum)
