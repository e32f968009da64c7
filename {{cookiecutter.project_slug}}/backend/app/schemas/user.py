"""Bodies of the `/users` endpoints."""

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
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
from app.models.user import EMAIL_MAX_LENGTH, FULL_NAME_MAX_LENGTH, normalize_email
from app.schemas.text import (
    STORABLE_TEXT_PATTERN,
    UnicodeEmail,
    UnicodeStr,
    refuse_unstorable_text,
)


def password_too_common() -> PydanticCustomError:
    """The error for a password that is blank, common, or the account's email."""
    return PydanticCustomError(
        "password_too_common",
        "Password is too easy to guess: it is blank, a common password, or the email",
    )


def _password_length(password: str) -> str:
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


def _password_schema(schema: dict[str, Any]) -> None:
    """The text rule and the limits in the schema, the limits read from the settings when the
    schema is built."""
    settings = get_settings()
    schema.update(
        pattern=STORABLE_TEXT_PATTERN,
        minLength=settings.PASSWORD_MIN_LENGTH,
        maxLength=settings.PASSWORD_MAX_LENGTH,
    )


# A password a client chooses: sign-up, change and reset all follow the same rules. The route
# checks it against the account's email (`password_too_common`) where the body has no email.
NewPassword = Annotated[
    str,
    BeforeValidator(refuse_unstorable_text),
    AfterValidator(_password_length),
    Field(
        description=(
            "PASSWORD_MIN_LENGTH to PASSWORD_MAX_LENGTH characters (8 to 128 by default); not "
            "blank, not one of the 10,000 most common passwords, and not the email or the part "
            "before its @, in any letter case (422 `password_too_common`)"
        ),
        examples=["correct-horse-battery"],
        json_schema_extra=_password_schema,
    ),
]
# Any text, as long as a password may be: a stored password is checked, not judged.
CurrentPassword = Annotated[UnicodeStr, Field(min_length=1, max_length=1024)]
FullName = Annotated[UnicodeStr, Field(max_length=FULL_NAME_MAX_LENGTH)]


class UserCreate(BaseModel):
    """What a client sends to create a user."""

    model_config = ConfigDict(extra="forbid")

    email: UnicodeEmail
    password: NewPassword

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
    def _password_not_common(cls, password: str, info: ValidationInfo) -> str:
        # `email` is validated first; it is missing from `info.data` when it was invalid.
        if is_too_common(password, email=info.data.get("email")):
            raise password_too_common()
        return password


class UserRead(BaseModel):
    """A user as the API shows it: never the password or its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: Id
    email: str
    is_active: bool
    is_superuser: bool
    full_name: str | None
    email_verified: bool
    created_at: AwareDatetime
    updated_at: AwareDatetime


class UserPage(BaseModel):
    """One page of users, and how many match in all."""

    items: list[UserRead]
    total: int
    limit: int
    offset: int


class UserListQuery(BaseModel):
    """The query of `GET /users`: a page, filters, and an order that ties never shuffle."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=1_000_000_000)
    email: Annotated[UnicodeStr, Field(max_length=EMAIL_MAX_LENGTH)] | None = Field(
        default=None, description="Part of the email, in any letter case"
    )
    is_active: bool | None = None
    sort: Literal["created_at", "-created_at", "email", "-email"] = "created_at"


class UserSelfUpdate(BaseModel):
    """What users may change about themselves."""

    model_config = ConfigDict(extra="forbid")

    full_name: FullName | None = None


class UserUpdate(UserSelfUpdate):
    """What a superuser may change about a user; a field left out stays as it is."""

    is_active: StrictBool | None = None
    is_superuser: StrictBool | None = None


class PasswordChange(BaseModel):
    """The current password, and the new one."""

    model_config = ConfigDict(extra="forbid")

    current_password: CurrentPassword
    new_password: NewPassword
