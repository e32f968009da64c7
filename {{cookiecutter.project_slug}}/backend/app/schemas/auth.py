"""Bodies of the `/auth` endpoints."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.tokens import TOKEN_MAX_LENGTH
from app.models.user import EMAIL_MAX_LENGTH
from app.schemas.text import UnicodeStr

# A login's password is checked against the stored hash, not against the sign-up rules; this
# only bounds what a client can make the server hash.
LOGIN_PASSWORD_MAX_LENGTH = 1024


class PasswordForm(BaseModel):
    """The OAuth2 password grant's form (RFC 6749, section 4.3.2): the email is `username`."""

    grant_type: Literal["password"] | None = None
    username: UnicodeStr = Field(max_length=EMAIL_MAX_LENGTH)
    password: UnicodeStr = Field(max_length=LOGIN_PASSWORD_MAX_LENGTH)
    scope: str = ""


class TokenPair(BaseModel):
    """What a login or a refresh returns (RFC 6749, section 5.1)."""

    access_token: str = Field(description="A JWT to send as `Authorization: Bearer <token>`")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Exchange it at `/auth/refresh` for a new pair")


class RefreshTokenBody(BaseModel):
    """A refresh token, to rotate (`/auth/refresh`) or to revoke (`/auth/logout`)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: UnicodeStr = Field(max_length=TOKEN_MAX_LENGTH)
