"""Responses serialised by the route itself."""

from collections.abc import Mapping

from fastapi import Response, status
from pydantic import BaseModel


def json_response(
    body: BaseModel,
    status_code: int = status.HTTP_200_OK,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`body` as JSON, serialised in one step by pydantic, by the route itself.

    Returning the model would make FastAPI validate it against `response_model` a second time
    before encoding it, and for a `def` route do that in another worker thread, after the route
    returns but before the session's commit: under load every worker thread can then be waiting
    for a lock held by a request that waits for a thread to serialise its response, a deadlock
    that ends only at a timeout. `response_model` still documents the body in OpenAPI.
    """
    return Response(
        body.model_dump_json(),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
