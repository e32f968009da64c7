"""The liveness and readiness probes."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.api.deps import current_engine
from app.core.config import get_settings
from app.db.session import create_engine_from_settings
from app.main import create_app
{%- if cookiecutter.database == "postgresql" %}
from tests.database import ON_POSTGRESQL

# Nothing listens on port 1: connections are refused at once. SQLite (the fallback when
# TEST_DATABASE_URL is not set) cannot create a file in a directory that does not exist.
UNREACHABLE_DATABASE_URL = (
    "postgresql+psycopg://postgres@127.0.0.1:1/unreachable"
    if ON_POSTGRESQL
    else "sqlite:////nonexistent-directory/unreachable.db"
)
{%- else %}

# SQLite cannot create a file in a directory that does not exist.
UNREACHABLE_DATABASE_URL = "sqlite:////nonexistent-directory/unreachable.db"
{%- endif %}


@pytest.fixture
def unreachable_engine() -> Iterator[Engine]:
    """An engine whose database cannot be reached."""
    settings = get_settings().model_copy(update={"DATABASE_URL": UNREACHABLE_DATABASE_URL})
    engine = create_engine_from_settings(settings)
    yield engine
    engine.dispose()


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_ready_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_not_ready_while_the_database_is_down_and_ready_once_it_is_back(
    engine: Engine, unreachable_engine: Engine
) -> None:
    app = create_app()
    with TestClient(app) as client:
        app.dependency_overrides[current_engine] = lambda: unreachable_engine
        down = client.get("/health/ready")
        liveness = client.get("/health")
        app.dependency_overrides[current_engine] = lambda: engine
        back = client.get("/health/ready")

    assert down.status_code == 503
    assert down.json() == {"status": "unavailable"}
    assert liveness.status_code == 200
    assert back.status_code == 200
    assert back.json() == {"status": "ok"}
