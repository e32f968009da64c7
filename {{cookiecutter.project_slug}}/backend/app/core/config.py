"""Application settings, read from the environment and `.env`."""

import secrets
from functools import lru_cache
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from app.core.resources import available_cpus

# The value `.env.example` carries for every secret; refused outside development.
EXAMPLE_SECRET = "changeme"  # noqa: S105 - the known-bad value, not a secret
# HS256 keys shorter than the hash's output weaken it (RFC 7518, section 3.2).
SECRET_KEY_MIN_BYTES = 32


class Settings(BaseSettings):
    """Every knob of the service; the environment overrides `.env`, which overrides the defaults."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    PROJECT_NAME: str = {{ cookiecutter.project_name | tojson }}
    ENVIRONMENT: Literal["development", "test", "staging", "production"] = "development"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

{%- if cookiecutter.database == "postgresql" %}

    # PostgreSQL (postgresql+psycopg://); a sqlite:/// URL also works, for quick local runs.
    DATABASE_URL: str = "postgresql+psycopg://postgres@localhost:5432/{{ cookiecutter.project_slug }}"
    # Per worker process; keep workers x (pool size + overflow) below max_connections. Overflow
    # connections are closed as soon as they are returned: under steady load above the pool
    # size they are reopened for every request, so size the pool and leave overflow at zero.
    DB_POOL_SIZE: int = Field(default=10, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=0, ge=0)
    DB_POOL_TIMEOUT: float = Field(default=30.0, gt=0)
    DB_CONNECT_TIMEOUT: int = Field(default=5, ge=2)
    # False behind PgBouncer in transaction mode, which cannot keep server-side prepared
    # statements across transactions.
    DB_PREPARED_STATEMENTS: bool = True
    # How long a SQLite writer waits for the lock before giving up with "database is locked".
    DB_BUSY_TIMEOUT_MS: int = Field(default=5000, ge=0)
{%- else %}

    DATABASE_URL: str = "sqlite:///./{{ cookiecutter.project_slug }}.db"
    # How long a writer waits for SQLite's lock before giving up with "database is locked".
    DB_BUSY_TIMEOUT_MS: int = Field(default=5000, ge=0)
{%- endif %}

    PASSWORD_MIN_LENGTH: int = Field(default=8, ge=1)
    PASSWORD_MAX_LENGTH: int = Field(default=128, ge=1)
    # Argon2id cost; the defaults follow RFC 9106's second recommended option. Lower them
    # only in tests.
    ARGON2_TIME_COST: int = Field(default=3, ge=1)
    ARGON2_MEMORY_COST_KIB: int = Field(default=65536, ge=8)
    ARGON2_PARALLELISM: int = Field(default=4, ge=1)
    # Argon2 operations (hash or verify) running at once per worker process; each holds
    # ARGON2_MEMORY_COST_KIB. Unset: one per CPU the process may use (container quota included).
    PASSWORD_HASH_CONCURRENCY: int | None = Field(default=None, ge=1)

    # Signs access tokens (HS256). Unset in development and test, a random key per process is
    # used (tokens then die with the process); staging and production refuse to start without
    # one of at least 32 bytes. Rotate by moving the old key to SECRET_KEY_PREVIOUS (a
    # comma-separated list): tokens it signed stay valid until they expire.
    SECRET_KEY: SecretStr | None = None
    SECRET_KEY_PREVIOUS: SecretStr = SecretStr("")
    ACCESS_TOKEN_EXPIRE_MINUTES: int = Field(default=15, ge=1)
    REFRESH_TOKEN_EXPIRE_DAYS: int = Field(default=14, ge=1)
    # /docs, /redoc and /openapi.json; unset, they are served in development and test only.
    DOCS_ENABLED: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        url = make_url(self.DATABASE_URL)
{%- if cookiecutter.sqlalchemy_mode == "async" %}
        if url.drivername in {"sqlite", "sqlite+pysqlite"}:
            # The async engine needs an asyncio driver.
            url = url.set(drivername="sqlite+aiosqlite")
{%- set sqlite_drivers = '"sqlite+aiosqlite"' %}
{%- else %}
{%- set sqlite_drivers = '"sqlite", "sqlite+pysqlite"' %}
{%- endif %}
{%- if cookiecutter.database == "postgresql" %}
        if url.drivername in {"postgres", "postgresql"}:
            # A bare postgresql:// would pick psycopg2, which this project does not install.
            url = url.set(drivername="postgresql+psycopg")
        if url.drivername not in {"postgresql+psycopg", {{ sqlite_drivers }}}:
            raise ValueError(
                f"DATABASE_URL must be a postgresql+psycopg:// (or sqlite:///) URL, "
                f"not {url.drivername}://"
            )
        if self.ENVIRONMENT in {"staging", "production"} and url.password == EXAMPLE_SECRET:
            raise ValueError(
                f"DATABASE_URL keeps the example secret in {self.ENVIRONMENT}: set a secret"
            )
{%- else %}
        if url.drivername {% if cookiecutter.sqlalchemy_mode == "async" %}!= "sqlite+aiosqlite"{% else %}not in {"sqlite", "sqlite+pysqlite"}{% endif %}:
            raise ValueError(f"DATABASE_URL must be a sqlite:/// URL, not {url.drivername}://")
{%- endif %}
        self.DATABASE_URL = url.render_as_string(hide_password=False)
        if self.PASSWORD_MIN_LENGTH > self.PASSWORD_MAX_LENGTH:
            raise ValueError("PASSWORD_MIN_LENGTH must not exceed PASSWORD_MAX_LENGTH")
        self._check_secret_key()
        return self

    def _check_secret_key(self) -> None:
        if self.ENVIRONMENT not in {"staging", "production"}:
            if self.SECRET_KEY is None:
                self.SECRET_KEY = SecretStr(secrets.token_urlsafe(SECRET_KEY_MIN_BYTES))
            return
        key = self.SECRET_KEY.get_secret_value() if self.SECRET_KEY is not None else ""
        if not key or key == EXAMPLE_SECRET:
            raise ValueError(f"SECRET_KEY must be set to a random secret in {self.ENVIRONMENT}")
        if len(key.encode()) < SECRET_KEY_MIN_BYTES:
            raise ValueError(f"SECRET_KEY must be at least {SECRET_KEY_MIN_BYTES} bytes long")
        if any(len(key.encode()) < SECRET_KEY_MIN_BYTES for key in self.token_verification_keys):
            raise ValueError(
                f"SECRET_KEY_PREVIOUS keys must be at least {SECRET_KEY_MIN_BYTES} bytes long"
            )

    @property
    def secret_key(self) -> str:
        """The key that signs new access tokens."""
        if self.SECRET_KEY is None:  # pragma: no cover - the validator always sets one
            raise RuntimeError("SECRET_KEY is not set")
        return self.SECRET_KEY.get_secret_value()

    @property
    def token_verification_keys(self) -> tuple[str, ...]:
        """Every key an access token may be signed with: the current one first."""
        previous = self.SECRET_KEY_PREVIOUS.get_secret_value().split(",")
        return (self.secret_key, *(key.strip() for key in previous if key.strip()))

    @property
    def password_hash_concurrency(self) -> int:
        """How many Argon2 operations may run at once in this process."""
        return self.PASSWORD_HASH_CONCURRENCY or available_cpus()

    @property
    def docs_enabled(self) -> bool:
        """Whether the API documentation is served."""
        if self.DOCS_ENABLED is not None:
            return self.DOCS_ENABLED
        return self.ENVIRONMENT in {"development", "test"}


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process."""
    return Settings()
