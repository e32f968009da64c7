"""Settings: URLs are checked and normalised, and unsafe values refused where they matter."""

import pytest
from pydantic import ValidationError

from app.core.config import Settings


def settings(**values: object) -> Settings:
    """Settings from `values` and the defaults only: no environment, no `.env`."""
    return Settings.model_validate(values)
{%- if cookiecutter.database == "postgresql" %}


def test_a_bare_postgresql_url_gets_the_psycopg_driver() -> None:
    loaded = settings(DATABASE_URL="postgresql://user:secret@db:5432/app")

    assert loaded.DATABASE_URL == "postgresql+psycopg://user:secret@db:5432/app"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_the_example_secret_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="example secret"):
        settings(
            ENVIRONMENT=environment,
            DATABASE_URL="postgresql+psycopg://app:changeme@db:5432/app",
        )


def test_the_example_secret_is_allowed_in_development() -> None:
    loaded = settings(
        ENVIRONMENT="development", DATABASE_URL="postgresql+psycopg://app:changeme@db/app"
    )

    assert loaded.ENVIRONMENT == "development"


def test_other_drivers_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"postgresql\+psycopg://"):
        settings(DATABASE_URL="mysql+pymysql://app:secret@db/app")


def test_sqlite_is_accepted_for_quick_local_runs() -> None:
    loaded = settings(DATABASE_URL="sqlite:///./app.db")

    assert loaded.DATABASE_URL == "{{ "sqlite+aiosqlite" if cookiecutter.sqlalchemy_mode == "async" else "sqlite" }}:///./app.db"
{%- else %}


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValidationError, match="sqlite:///"):
        settings(DATABASE_URL="postgresql+psycopg://app:secret@db/app")
{%- if cookiecutter.sqlalchemy_mode == "async" %}


@pytest.mark.parametrize("url", ["sqlite:///./app.db", "sqlite+aiosqlite:///./app.db"])
def test_sqlite_urls_get_the_asyncio_driver(url: str) -> None:
    assert settings(DATABASE_URL=url).DATABASE_URL == "sqlite+aiosqlite:///./app.db"
{%- else %}


def test_sqlite_urls_keep_the_standard_driver() -> None:
    with pytest.raises(ValidationError, match="sqlite:///"):
        settings(DATABASE_URL="sqlite+aiosqlite:///./app.db")
{%- endif %}
{%- endif %}


def test_password_bounds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="PASSWORD_MIN_LENGTH"):
        settings(PASSWORD_MIN_LENGTH=20, PASSWORD_MAX_LENGTH=10)


def test_argon2_defaults_are_production_strength() -> None:
    """The suite runs with cheap parameters (see conftest); the defaults must not be cheap."""
    defaults = Settings.model_fields

    assert defaults["ARGON2_TIME_COST"].default >= 2
    assert defaults["ARGON2_MEMORY_COST_KIB"].default >= 19 * 1024
