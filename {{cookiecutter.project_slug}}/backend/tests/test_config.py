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
# What a deployment sets besides its secrets.
DEPLOYED = {"DATABASE_URL": PRODUCTION_URL, "SMTP_HOST": "smtp.example.com"}
# Keys as a generator makes them: long enough, and no pattern.
STRONG_KEY = "Yq3vN8rT1bX6mK2wP9sD4fH7jL0zC5gA"
PREVIOUS_KEY = "p4Ls9Qe2Wr7Ty1Ui6Op3As8Df5Gh0Jk_-"


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
        ({"SECRET_KEY": STRONG_KEY, "SECRET_KEY_PREVIOUS": "old"}, "SECRET_KEY_PREVIOUS"),
    ],
)
def test_weak_secret_keys_are_refused_outside_development(
    environment: str, values: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        settings(ENVIRONMENT=environment, **DEPLOYED | values)


def test_a_strong_secret_key_is_accepted_in_production() -> None:
    loaded = settings(
        ENVIRONMENT="production",
        **DEPLOYED,
        SECRET_KEY=STRONG_KEY,
        SECRET_KEY_PREVIOUS=f"{PREVIOUS_KEY}, {STRONG_KEY[::-1]}",
    )

    assert loaded.token_verification_keys == (STRONG_KEY, PREVIOUS_KEY, STRONG_KEY[::-1])
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
        **DEPLOYED,
        SECRET_KEY=STRONG_KEY,
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
        ({"SECRET_KEY": None}, "SECRET_KEY: must be set to a random secret in production"),
        ({"SECRET_KEY": "k" * 64}, "SECRET_KEY: must have at least 16 different characters"),
        ({"SECRET_KEY": "0123456789abcde" * 3}, "SECRET_KEY: must have at least 16 different"),
        ({"SECRET_KEY_PREVIOUS": "k" * 32}, "SECRET_KEY_PREVIOUS: every key must be at least"),
        ({"REFRESH_TOKEN_EXPIRE_DAYS": 91}, "REFRESH_TOKEN_EXPIRE_DAYS: at most 90 in production"),
        ({"SESSION_MAX_DAYS": 365}, "SESSION_MAX_DAYS: at most 90 in production"),
        ({"SMTP_HOST": None}, "SMTP_HOST: required in production"),
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
        **DEPLOYED,
        "SECRET_KEY": STRONG_KEY,
    }
    given = {name: value for name, value in (production | values).items() if value is not None}

    with pytest.raises(ValidationError) as caught:
        settings(**given)

    problems = settings_problems(caught.value)
    assert len(problems) == 1
    assert problem in problems[0]
    for value in values.values():
        assert not isinstance(value, str) or value not in problems[0]
{%- if cookiecutter.database == "postgresql" %}


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize(
    "password",
    ["Password1", "PASSWORD123", "postgres123", "ChangeMe123", "letmein", "Qwerty", "12345678"],
)
def test_well_known_database_passwords_are_refused_in_any_letter_case(
    environment: str, password: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(
            ENVIRONMENT=environment,
            DATABASE_URL=f"postgresql+psycopg://app:{password}@db:5432/app",
            SECRET_KEY=STRONG_KEY,
            SMTP_HOST=DEPLOYED["SMTP_HOST"],
        )

    problems = settings_problems(caught.value)
    assert len(problems) == 1
    assert "DATABASE_URL: the password is a well-known default" in problems[0]
    assert password not in problems[0]
{%- endif %}


def test_lifetimes_of_90_days_are_accepted_in_production() -> None:
    loaded = settings(
        ENVIRONMENT="production",
        **DEPLOYED,
        SECRET_KEY=STRONG_KEY,
        REFRESH_TOKEN_EXPIRE_DAYS=90,
        SESSION_MAX_DAYS=90,
    )

    assert (loaded.REFRESH_TOKEN_EXPIRE_DAYS, loaded.SESSION_MAX_DAYS) == (90, 90)


def test_sessions_have_bounded_defaults() -> None:
    loaded = settings()

    assert loaded.SESSION_MAX_DAYS == 30
    assert loaded.SESSIONS_MAX_PER_USER == 10
    with pytest.raises(ValidationError, match="SESSION_MAX_DAYS"):
        settings(SESSION_MAX_DAYS=0)
    with pytest.raises(ValidationError, match="SESSIONS_MAX_PER_USER"):
        settings(SESSIONS_MAX_PER_USER=0)


@pytest.mark.parametrize("environment", ["development", "test"])
def test_an_empty_secret_key_is_one_line_in_development(environment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(ENVIRONMENT=environment, SECRET_KEY="")

    assert settings_problems(caught.value) == [
        "SECRET_KEY: is empty; remove the line (a random key is used) or set one"
    ]


def test_cors_origins_are_a_comma_separated_list() -> None:
    loaded = settings(CORS_ORIGINS=" https://app.example.com,http://localhost:5173 , ")

    assert loaded.cors_origins == ("https://app.example.com", "http://localhost:5173")
    assert settings().cors_origins == ()


def test_each_origin_that_is_not_scheme_host_and_port_is_one_line() -> None:
    bad = [
        "*",
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "ftp://files.example.com",
        "https://user@app.example.com",
        "https://app.example.com:99999",
        "https://App.Example.com",
        "https://app.example.com?x=1",
    ]

    with pytest.raises(ValidationError) as caught:
        settings(CORS_ORIGINS=",".join(["https://ok.example.com:8443", *bad]))

    problems = settings_problems(caught.value)
    assert len(problems) == len(bad)
    for origin, problem in zip(bad, problems, strict=True):
        assert problem.startswith(f"CORS_ORIGINS: {origin!r} is not an origin")


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
        (
            {"SECRET_KEY": "short-secret-value" * 2, "SESSION_MAX_DAYS": "120"},
            [
                "SECRET_KEY: must have at least 16 different characters (a random secret, "
                "not a pattern)",
                "SESSION_MAX_DAYS: at most 90 in production",
            ],
        ),
        (
            {"ENVIRONMENT": "development", "SECRET_KEY": ""},
            ["SECRET_KEY: is empty; remove the line (a random key is used) or set one"],
        ),
    ],
)
def test_invalid_settings_stop_the_process_with_one_line_each_and_no_secret(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], lines: list[str]
) -> None:
    production = {"ENVIRONMENT": "production", **DEPLOYED}
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
