"""Bodies of the `/health` probes."""

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the database answers: `ok` with a 200, `unavailable` with a 503."""

    status: Literal["ok", "unavailable"]
