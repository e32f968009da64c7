"""Path parameters shared by the routes."""

{%- if cookiecutter.primary_key == "uuid" %}

import uuid

from starlette.convertors import StringConvertor, register_url_convertor
{%- else %}

from typing import Annotated

from fastapi import Path
from starlette.convertors import StringConvertor, register_url_convertor
{%- endif %}

{%- if cookiecutter.primary_key == "uuid" %}

# A malformed UUID is a 422, an unknown one a 404.
IdPath = uuid.UUID
{%- else %}

# Ids are 64-bit integers; anything outside that range is a malformed id (422), not a miss.
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
{%- endif %}


class IdSegment(StringConvertor):
    """A path segment that may hold an id: any but the names of fixed routes, such as `me`.

    `PATCH /users/me` then answers 405 (the path has GET only) instead of reading `me` as a
    malformed id; malformed ids elsewhere still reach validation and get a 422.
    """

    regex = "(?!me$)[^/]+"


# Routes name it in their paths: `/{user_id:id}`.
register_url_convertor("id", IdSegment())
