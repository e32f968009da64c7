"""Path parameters shared by the routes."""

{%- if cookiecutter.primary_key == "uuid" %}

import uuid

# A malformed UUID is a 422, an unknown one a 404.
IdPath = uuid.UUID
{%- else %}

from typing import Annotated

from fastapi import Path

# Ids are 64-bit integers; anything outside that range is a malformed id (422), not a miss.
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
{%- endif %}
