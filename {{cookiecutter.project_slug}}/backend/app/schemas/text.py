"""Text a client sends: valid Unicode without NUL, so it can be hashed, stored and logged."""

from typing import Annotated

from pydantic import BeforeValidator, EmailStr, Field
from pydantic_core import PydanticCustomError


def refuse_unstorable_text(value: object) -> object:
    """JSON can spell a lone surrogate (`"\\ud800"`), which no encoder can write out, and NUL,
    which PostgreSQL cannot store in text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError(
                "string_unicode", "Input should be valid Unicode text, without lone surrogates"
            ) from None
        if "\x00" in value:
            raise PydanticCustomError("string_nul", "Input should not contain NUL characters")
    return value


# The NUL rule in the schema, so that clients and API fuzzers know it. Lone surrogates cannot be
# written in a pattern that every validator compiles (Rust's and ECMAScript's `u` mode refuse
# them, and fuzzers drop such a pattern entirely): they are refused with the 422 that every
# operation taking text documents, like any other malformed input.
STORABLE_TEXT_PATTERN = r"^[^\u0000]*$"

UnicodeStr = Annotated[
    str,
    BeforeValidator(refuse_unstorable_text),
    Field(json_schema_extra={"pattern": STORABLE_TEXT_PATTERN}),
]
UnicodeEmail = Annotated[
    EmailStr,
    BeforeValidator(refuse_unstorable_text),
    Field(json_schema_extra={"pattern": STORABLE_TEXT_PATTERN}),
]
