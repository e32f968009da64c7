"""Values a client sends other than text, accepted only in the form their JSON Schema gives: a
string is never read as a number, nor a number as a date."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictInt,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# An integer every JSON parser reads exactly, JavaScript's included (Number.MAX_SAFE_INTEGER),
# stored in a BIGINT column. A larger one is a 422, not a number rounded on the way.
MAX_SAFE_INTEGER = 2**53 - 1


def whole_number(value: object) -> object:
    """JSON Schema's integers include `2.0`: a float without a fraction is that integer. Text
    and booleans stay what they are, and are refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


SafeInt = Annotated[
    StrictInt, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER), BeforeValidator(whole_number)
]


def refuse_numbers(value: object) -> object:
    """Dates and times come as ISO 8601 text, as their schema says; pydantic would also read a
    number, as seconds since 1970."""
    if isinstance(value, int | float):
        raise PydanticCustomError("iso_text", "Input should be ISO 8601 text")
    return value


# A day, `2026-12-31`.
Day = Annotated[date, BeforeValidator(refuse_numbers)]


def in_utc(moment: datetime) -> datetime:
    """`moment` in UTC, as it is stored and returned; a 422 when that falls outside years 1 to
    9999 (`0001-01-01T00:00:00+01:00`)."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_range", "Datetime should fall within years 1 to 9999 in UTC"
        ) from None


# An instant with its UTC offset, `2026-12-31T23:59:59+01:00`, converted to UTC.
UTCDatetime = Annotated[AwareDatetime, BeforeValidator(refuse_numbers), AfterValidator(in_utc)]


@dataclass(frozen=True)
class DecimalText:
    """`Annotated[Decimal, DecimalText(12, 2)]`: a decimal number sent as JSON text, `"-1234.50"`,
    of at most `digits` digits, `places` of them after the point, as NUMERIC(digits, places)
    stores it. Text, so that no float ever rounds it on the way; a number is a 422."""

    digits: int
    places: int

    @property
    def pattern(self) -> str:
        """The text this accepts: no exponent, no sign but `-`."""
        whole, places = str(self.digits - self.places), str(self.places)
        return r"^-?\d{1," + whole + r"}(\.\d{1," + places + r"})?$"

    def check(self, value: object) -> object:
        """`value`, if it is text of this form."""
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            raise PydanticCustomError(
                "decimal_text",
                "Input should be a decimal number as text, of at most {digits} digits, {places} "
                'of them after the point, such as "12.50"',
                {"digits": self.digits, "places": self.places},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, _schema: CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": self.pattern, "examples": ["12.50"]}
