"""Bodies of the `/users` endpoints."""

from typing import Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from app.core.config import get_settings
from app.core.passwords import is_too_common
from app.models.mixins import Id
from app.models.user import EMAIL_MAX_LENGTH, normalize_email
from app.schemas.text import UnicodeEmail, UnicodeStr


def _password_bounds(schema: dict[str, Any]) -> None:
    """The password's length limits in the schema, read when the schema is built."""
    settings = get_settings()
    password = schema["properties"]["password"]
    password.update(minLength=settings.PASSWORD_MIN_LENGTH, maxLength=settings.PASSWORD_MAX_LENGTH)


class UserCreate(BaseModel):
    """What a client sends to create a user."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_password_bounds)

    email: UnicodeEmail
    password: UnicodeStr = Field(
        description=(
            "PASSWORD_MIN_LENGTH to PASSWORD_MAX_LENGTH characters (8 to 128 by default); not "
            "blank, not one of the 10,000 most common passwords, and not the email or the part "
            "before its @, in any letter case (422 `password_too_common`)"
        ),
        examples=["correct-horse-battery"],
    )

    @field_validator("email")
    @classmethod
    def _email_fits_once_normalised(cls, email: str) -> str:
        # NFKC can lengthen an address many times over (U+FDFA alone becomes 18 characters):
        # what is stored, the normal form, must fit the column.
        if len(normalize_email(email)) > EMAIL_MAX_LENGTH:
            raise PydanticCustomError(
                "email_too_long",
                "Email must be at most {max_length} characters long once normalised",
                {"max_length": EMAIL_MAX_LENGTH},
            )
        return email

    @field_validator("password")
    @classmethod
    def _password_length(cls, password: str) -> str:
        settings = get_settings()
        if len(password) < settings.PASSWORD_MIN_LENGTH:
            raise PydanticCustomError(
                "password_too_short",
                "Password must be at least {min_length} characters long",
                {"min_length": settings.PASSWORD_MIN_LENGTH},
            )
        if len(password) > settings.PASSWORD_MAX_LENGTH:
            raise PydanticCustomError(
                "password_too_long",
                "Password must be at most {max_length} characters long",
                {"max_length": settings.PASSWORD_MAX_LENGTH},
            )
        return password

    @field_validator("password")
    @classmethod
    def _password_not_common(cls, password: str, info: ValidationInfo) -> str:
        # `email` is validated first; it is missing from `info.data` when it was invalid.
        if is_too_common(password, email=info.data.get("email")):
            raise PydanticCustomError(
                "password_too_common",
                "Password is too easy to guess: it is blank, a common password, or the email",
            )
        return password


class UserRead(BaseModel):
    """A user as the API shows it: never the password or its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: Id
    email: str
    is_active: bool
    is_superuser: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime


class UserUpdate(BaseModel):
    """What a superuser may change about a user."""

    model_config = ConfigDict(extra="forbid")

    is_active: StrictBool
