"""Error bodies the API returns besides FastAPI's validation errors."""

from pydantic import BaseModel, Field


class ErrorResponse(BaseModel):
    """A client error: a human message and a stable machine-readable code."""

    detail: str = Field(examples=["A user with this email address already exists."])
    code: str = Field(examples=["email_already_registered"])
