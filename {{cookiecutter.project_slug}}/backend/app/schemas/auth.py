"""Bodies of the `/auth` endpoints."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.tokens import TOKEN_MAX_LENGTH


class TokenPair(BaseModel):
    """What a login or a refresh returns (RFC 6749, section 5.1)."""

    access_token: str = Field(description="A JWT to send as `Authorization: Bearer <token>`")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(description="Exchange it at `/auth/refresh` for a new pair")


class RefreshTokenBody(BaseModel):
    """A refresh token, to rotate (`/auth/refresh`) or to revoke (`/auth/logout`)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(max_length=TOKEN_MAX_LENGTH)
