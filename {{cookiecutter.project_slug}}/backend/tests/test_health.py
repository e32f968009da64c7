"""The liveness and readiness probes."""

from collections.abc import Iterator

{% if cookiecutter.sqlalchemy_mode == "async" -%}
import anyio
{% endif -%}
import pytest
from fastapi.testclient import TestClient
{%- if cookiecutter.sqlalchemy_mode == "async" %}
from sqlalchemy.ext.asyncio import AsyncEngine
{%- else %}
from sqlalchemy import Engine
{%- endif %}

from app.core.config import get_settings
from app.db.session import create_engine_from_settings, get_engine
from app.main import create_app
{%- if cookiecutter.database == "postgresql" %}
from tests.conftest import ON_POSTGRESQL

# Nothing listens on port 1: connections are refused at once. SQLite (the fallback when
# TEST_DATABASE_URL is not set) cannot create a file in a directory that does not exist.
UNREACHABLE_DATABASE_URL = (
    "postgresql+psycopg://postgres@127.0.0.1:1/unreachable"
    if ON_POSTGRESQL
    else "{{ "sqlite+aiosqlite" if cookiecutter.sqlalchemy_mode == "async" else "sqlite" }}:////nonexistent-directory/unreachable.db"
)
{%- else %}

# SQLite cannot create a file in a directory that does not exist.
UNREACHABLE_DATABASE_URL = "{{ "sqlite+aiosqlite" if cookiecutter.sqlalchemy_mode == "async" else "sqlite" }}:////nonexistent-directory/unreachable.db"
{%- endif %}


@pytest.fixture
def unreachable_engine() -> Iterator[{{ "AsyncEngine" if cookiecutter.sqlalchemy_mode == "async" else "Engine" }}]:
    settings = get_settings().model_copy(update={"DATABASE_URL": UNREACHABLE_DATABASE_URL})
    engine = create_engine_from_settings(settings)
    yield engine
{%- if cookiecutter.sqlalchemy_mode == "async" %}
    anyio.run(engine.dispose)
{%- else %}
    engine.dispose()
{%- endif %}


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
    engine: {{ "AsyncEngine" if cookiecutter.sqlalchemy_mode == "async" else "Engine" }}, unreachable_engine: {{ "AsyncEngine" if cookiecutter.sqlalchemy_mode == "async" else "Engine" }}
) -> None:
    app = create_app()
    with TestClient(app) as client:
        app.dependency_overrides[get_engine] = lambda: unreachable_engine
        down = client.get("/health/ready")
        liveness = client.get("/health")
        app.dependency_overrides[get_engine] = lambda: engine
        back = client.get("/health/ready")
{%- if cookiecutter.sqlalchemy_mode == "async" %}
        assert client.portal is not None
        client.portal.call(engine.dispose)
{%- endif %}

    assert down.status_code == 503
    assert down.json() == {"status": "unavailable"}
    assert liveness.status_code == 200
    assert back.status_code == 200
    assert back.json() == {"status": "ok"}
