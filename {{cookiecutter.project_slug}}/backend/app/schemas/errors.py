"""Error bodies the API returns besides FastAPI's validation errors."""

from pydantic import BaseModel, Field


class ErrorResponse(BaseModel):
    """A client error: a human message and a stable machine-readable code."""

    detail: str = Field(examples=["A user with this email address already exists."])
    code: str = Field(examples=["email_already_registered"])


class TokenErrorResponse(ErrorResponse):
    """An error of the token endpoint: RFC 6749's `error` members, and this API's own."""

    error: str = Field(
        description="RFC 6749, section 5.2",
        examples=["invalid_grant"],
    )
    error_description: str = Field(examples=["Incorrect email or password."])
