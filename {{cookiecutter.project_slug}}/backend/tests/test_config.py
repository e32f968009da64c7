"""Settings: URLs are checked and normalised, and unsafe values refused where they matter."""

from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from app.core.config import PROJECT_ROOT, Settings, get_settings, settings_problems
{%- if cookiecutter.database == "postgresql" %}

PRODUCTION_URL = "postgresql+psycopg://app:a-real-secret@db:5432/app"
{%- if cookiecutter.sqlalchemy_mode == "async" %}
SQLITE_DRIVER = "sqlite+aiosqlite"
{%- else %}
SQLITE_DRIVER = "sqlite"
{%- endif %}
{%- else %}

PRODUCTION_URL = "sqlite:///./app.db"
{%- endif %}


class IsolatedSettings(Settings):
    """Settings that read neither the environment nor `.env`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        del settings_cls, env_settings, dotenv_settings, file_secret_settings
        return (init_settings,)


def settings(**values: Any) -> Settings:
    """Settings from `values` and the defaults only."""
    return IsolatedSettings(**values)
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
    url = settings(DATABASE_URL="sqlite:///./app.db").DATABASE_URL

    assert url == f"{SQLITE_DRIVER}:///{PROJECT_ROOT}/app.db"
{%- else %}


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValidationError, match="sqlite:///"):
        settings(DATABASE_URL="postgresql+psycopg://app:secret@db/app")
{%- if cookiecutter.sqlalchemy_mode == "async" %}


@pytest.mark.parametrize("url", ["sqlite:///./app.db", "sqlite+aiosqlite:///./app.db"])
def test_sqlite_urls_get_the_asyncio_driver(url: str) -> None:
    assert settings(DATABASE_URL=url).DATABASE_URL.startswith("sqlite+aiosqlite:///")
{%- else %}


def test_sqlite_urls_keep_the_standard_driver() -> None:
    with pytest.raises(ValidationError, match="sqlite:///"):
        settings(DATABASE_URL="sqlite+aiosqlite:///./app.db")
{%- endif %}
{%- endif %}


def test_relative_sqlite_paths_start_at_the_project_root() -> None:
    """The app, Alembic and the tests open the same file from the root and from backend/."""
    loaded = settings(DATABASE_URL="sqlite:///./app.db")

    assert loaded.DATABASE_URL.endswith(f":///{PROJECT_ROOT}/app.db")
    assert (PROJECT_ROOT / "pyproject.toml").is_file()


def test_password_bounds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="PASSWORD_MIN_LENGTH"):
        settings(PASSWORD_MIN_LENGTH=20, PASSWORD_MAX_LENGTH=10)


def test_argon2_defaults_are_production_strength() -> None:
    """The suite runs with cheap parameters (see conftest); the defaults must not be cheap."""
    defaults = Settings.model_fields

    assert defaults["ARGON2_TIME_COST"].default >= 2
    assert defaults["ARGON2_MEMORY_COST_KIB"].default >= 19 * 1024


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({}, "SECRET_KEY: must be set"),
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY: must be set"),
        ({"SECRET_KEY": "s" * 31}, "at least 32 bytes"),
        ({"SECRET_KEY": "s" * 32, "SECRET_KEY_PREVIOUS": "old"}, "SECRET_KEY_PREVIOUS"),
    ],
)
def test_weak_secret_keys_are_refused_outside_development(
    environment: str, values: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        settings(ENVIRONMENT=environment, **{"DATABASE_URL": PRODUCTION_URL} | values)


def test_a_strong_secret_key_is_accepted_in_production() -> None:
    loaded = settings(
        ENVIRONMENT="production",
        DATABASE_URL=PRODUCTION_URL,
        SECRET_KEY="k" * 32,
        SECRET_KEY_PREVIOUS=f"{'o' * 32}, {'p' * 40}",
    )

    assert loaded.token_verification_keys == ("k" * 32, "o" * 32, "p" * 40)
    assert loaded.docs_enabled is False


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_works_without_a_secret_key(environment: str) -> None:
    first, second = settings(ENVIRONMENT=environment), settings(ENVIRONMENT=environment)

    assert len(first.secret_key) >= 32
    assert first.secret_key != second.secret_key  # random, never a constant someone could know
    assert first.docs_enabled is True


def test_docs_can_be_turned_on_in_production() -> None:
    loaded = settings(
        ENVIRONMENT="production",
        DATABASE_URL=PRODUCTION_URL,
        SECRET_KEY="k" * 32,
        DOCS_ENABLED=True,
    )

    assert loaded.docs_enabled is True


def test_log_level_accepts_any_letter_case() -> None:
    assert settings(LOG_LEVEL="warning").LOG_LEVEL == "WARNING"


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"ARGON2_MEMORY_COST_KIB": 8}, "ARGON2_MEMORY_COST_KIB: at least 19456 in production"),
        ({"ARGON2_TIME_COST": 1}, "ARGON2_TIME_COST: at least 2 in production"),
{%- if cookiecutter.database == "postgresql" %}
        ({"DATABASE_URL": None}, "DATABASE_URL: required in production"),
        ({"DATABASE_URL": "postgresql://app@db/app"}, "DATABASE_URL: needs a password"),
        ({"DATABASE_URL": "postgresql://app:@db/app"}, "DATABASE_URL: needs a password"),
        ({"DATABASE_URL": "postgresql://app:Postgres@db/app"}, "well-known default"),
{%- endif %}
    ],
)
def test_production_refuses_weak_settings_one_line_each(
    values: dict[str, Any], problem: str
) -> None:
    production = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": PRODUCTION_URL,
        "SECRET_KEY": "k" * 32,
    }
    given = {name: value for name, value in (production | values).items() if value is not None}

    with pytest.raises(ValidationError) as caught:
        settings(**given)

    problems = settings_problems(caught.value)
    assert len(problems) == 1
    assert problem in problems[0]


def test_the_password_minimum_cannot_go_below_8() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(PASSWORD_MIN_LENGTH=7)

    assert settings_problems(caught.value) == [
        "PASSWORD_MIN_LENGTH: Input should be greater than or equal to 8"
    ]


@pytest.mark.parametrize(
    ("environment", "lines"),
    [
        (
            {"DB_BUSY_TIMEOUT_MS": "soon", "SECRET_KEY": "short-secret-value"},
            [
                "DB_BUSY_TIMEOUT_MS: Input should be a valid integer, "
                "unable to parse string as an integer"
            ],
        ),
        (
            {"SECRET_KEY": "short-secret-value", "ARGON2_TIME_COST": "1"},
            [
                "SECRET_KEY: must be at least 32 bytes long",
                "ARGON2_TIME_COST: at least 2 in production",
            ],
        ),
    ],
)
def test_invalid_settings_stop_the_process_with_one_line_each_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], lines: list[str]
) -> None:
    production = {"ENVIRONMENT": "production", "DATABASE_URL": PRODUCTION_URL}
    # The suite's cheap Argon2 parameters (conftest.py) are not what this test is about.
    strong = {"ARGON2_TIME_COST": "3", "ARGON2_MEMORY_COST_KIB": "65536"}
    for name, value in (production | strong | environment).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as caught:
            get_settings()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    message = str(caught.value.code)
    assert message.splitlines() == ["Invalid settings (environment or .env):"] + [
        f"  {line}" for line in lines
    ]
    assert "short-secret-value" not in message
    assert "a-real-secret" not in message
