"""Text a client sends: valid Unicode only, so it can be hashed, stored and logged."""

from typing import Annotated

from pydantic import BeforeValidator, EmailStr
from pydantic_core import PydanticCustomError


def _refuse_lone_surrogates(value: object) -> object:
    """JSON can spell a lone surrogate (`"\\ud800"`); no encoder can write one out."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError(
                "string_unicode", "Input should be valid Unicode text, without lone surrogates"
            ) from None
    return value


UnicodeStr = Annotated[str, BeforeValidator(_refuse_lone_surrogates)]
UnicodeEmail = Annotated[EmailStr, BeforeValidator(_refuse_lone_surrogates)]
