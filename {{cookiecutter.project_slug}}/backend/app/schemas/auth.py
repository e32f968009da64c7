"""Bodies of the `/auth` endpoints."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.errors import InvalidRequest, UnsupportedGrantType
from app.core.tokens import TOKEN_MAX_LENGTH
from app.models.user import EMAIL_MAX_LENGTH
from app.schemas.text import UnicodeEmail, UnicodeStr
from app.schemas.user import NewPassword

# A login's password is checked against the stored hash, not against the sign-up rules; this
# only bounds what a client can make the server hash.
LOGIN_PASSWORD_MAX_LENGTH = 1024


class TokenRequest(BaseModel):
    """The token endpoint's form: the password grant (RFC 6749, section 4.3.2) or a refresh
    (section 6).

    Every field is optional here so that a missing or malformed one gets RFC 6749's
    `invalid_request` rather than a validation error; `grant_type` defaults to `password`.
    Other fields (`scope`, `client_id`, `client_secret`) are accepted and ignored.
    """

    grant_type: str | None = Field(
        default=None, description="`password` (the default) or `refresh_token`"
    )
    username: str | None = Field(
        default=None, description="The email address, for the password grant"
    )
    password: str | None = Field(default=None, description="For the password grant")
    refresh_token: str | None = Field(default=None, description="For the refresh grant")

    def grant(self) -> Literal["password", "refresh_token"]:
        """The grant asked for; `UnsupportedGrantType` for any other."""
        if self.grant_type in {None, "password"}:
            return "password"
        if self.grant_type == "refresh_token":
            return "refresh_token"
        raise UnsupportedGrantType

    def credentials(self) -> tuple[str, str]:
        """The email and the password; `InvalidRequest` if either is missing or malformed."""
        email = _required(self.username, EMAIL_MAX_LENGTH)
        return email, _required(self.password, LOGIN_PASSWORD_MAX_LENGTH)

    def token(self) -> str:
        """The refresh token; `InvalidRequest` if it is missing or malformed."""
        return _required(self.refresh_token, TOKEN_MAX_LENGTH)


def _required(value: str | None, max_length: int) -> str:
    if not value or len(value) > max_length or "\x00" in value:
        raise InvalidRequest
    return value


class TokenPair(BaseModel):
    """What a login or a refresh returns (RFC 6749, section 5.1)."""

    access_token: str = Field(description="A JWT to send as `Authorization: Bearer <token>`")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(
        description="Exchange it at `/auth/token` (`grant_type=refresh_token`) for a new pair"
    )


class RefreshTokenBody(BaseModel):
    """A refresh token, to rotate (`/auth/refresh`) or to revoke (`/auth/logout`)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: UnicodeStr = Field(max_length=TOKEN_MAX_LENGTH)


# Emailed tokens are 43 characters; anything much longer is no token of this service's.
EmailedToken = Annotated[UnicodeStr, Field(min_length=1, max_length=128)]


class PasswordResetRequest(BaseModel):
    """The email of the account whose password was forgotten."""

    model_config = ConfigDict(extra="forbid")

    email: UnicodeEmail


class PasswordResetConfirm(BaseModel):
    """The token from a password-reset email, and the new password."""

    model_config = ConfigDict(extra="forbid")

    token: EmailedToken
    new_password: NewPassword


class VerificationToken(BaseModel):
    """The token from a verification email."""

    model_config = ConfigDict(extra="forbid")

    token: EmailedToken


class Accepted(BaseModel):
    """The request is taken: what follows happens by email."""

    detail: str
