"""Application settings, read from the environment and `.env`."""

import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from app.core.resources import available_cpus

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# backend/app/core/config.py -> the project root, where `.env` is and where relative SQLite
# paths start: the same files whether the app, Alembic or the tests run from the root or
# from backend/.
PROJECT_ROOT = Path(__file__).resolve().parents[3]
# The value `.env.example` carries for every secret; refused outside development.
EXAMPLE_SECRET = "changeme"  # noqa: S105 - the known-bad value, not a secret
# Passwords no deployment should keep: defaults of images, tutorials and generators.
# Compared in lower case, so `Password1` is refused as `password1`.
WELL_KNOWN_PASSWORDS = frozenset(
    {
        EXAMPLE_SECRET,
        *("changeme123", "changeit", "example", "secret", "default", "test", "test123"),
        *("password", "password1", "password123", "passw0rd", "p@ssw0rd", "pass"),
        *("postgres", "postgres123", "admin", "admin123", "root", "toor", "welcome"),
        *("letmein", "qwerty", "qwerty123", "abc123", "123456", "12345678", "123456789"),
    }
)
# HS256 keys shorter than the hash's output weaken it (RFC 7518, section 3.2).
SECRET_KEY_MIN_BYTES = 32
# A random key of 32 characters has about 25 different ones; a typed pattern far fewer.
SECRET_KEY_MIN_DISTINCT_CHARACTERS = 16
# Deployed, no login lives longer than this.
MAX_LIFETIME_DAYS = 90
# OWASP's minimum for Argon2id: 19 MiB, two passes, one lane.
ARGON2_MIN_MEMORY_COST_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2
DEPLOYED = frozenset({"staging", "production"})
# Where the links in emails get their token.
LINK_TOKEN_FIELD = "{token}"  # noqa: S105 - where the token goes, not a secret
{%- if cookiecutter.database == "postgresql" %}
# The development database's name, in the default DATABASE_URL.
DATABASE_NAME = "{{ cookiecutter.project_slug }}"
{%- endif %}


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


# `warning` and `WARNING` alike.
LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)]


class Settings(BaseSettings):
    """Every knob of the service; the environment overrides `.env`, which overrides the defaults."""

    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    PROJECT_NAME: str = {{ cookiecutter.project_name | tojson }}
    ENVIRONMENT: Literal["development", "test", "staging", "production"] = "development"
    LOG_LEVEL: LogLevel = "INFO"

{%- if cookiecutter.database == "postgresql" %}

    # PostgreSQL (postgresql+psycopg://); a sqlite:/// URL also works, for quick local runs.
    DATABASE_URL: str = f"postgresql+psycopg://postgres@localhost:5432/{DATABASE_NAME}"
    # Per worker process; keep workers x (pool size + overflow) below max_connections. Overflow
    # connections are closed as soon as they are returned: under steady load above the pool
    # size they are reopened for every request, so size the pool and leave overflow at zero.
    DB_POOL_SIZE: int = Field(default=10, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=0, ge=0)
    DB_POOL_TIMEOUT: float = Field(default=30.0, gt=0)
    DB_CONNECT_TIMEOUT: int = Field(default=5, ge=2)
    # A statement running longer is cancelled (0: never), so a busy or locked server costs a
    # request a bounded time: 503 database_unavailable, not a hang.
    DB_STATEMENT_TIMEOUT_MS: int = Field(default=5000, ge=0)
    # A server that stops acknowledging what was sent (a dead host, a cut network) is given up
    # after this long (libpq's tcp_user_timeout; 0: the kernel's default, about 15 minutes).
    DB_TCP_USER_TIMEOUT_MS: int = Field(default=10000, ge=0)
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

    PASSWORD_MIN_LENGTH: int = Field(default=8, ge=8)
    PASSWORD_MAX_LENGTH: int = Field(default=128, ge=1)
    # Argon2id cost; the defaults follow RFC 9106's second recommended option. Lower them
    # only in tests: staging and production refuse less than OWASP's minimum.
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
    # A login's absolute lifetime: refreshing never extends a session past it.
    SESSION_MAX_DAYS: int = Field(default=30, ge=1)
    # Live sessions (logins) per user; a login beyond it ends the user's oldest session.
    SESSIONS_MAX_PER_USER: int = Field(default=10, ge=1)
    # Access tokens name their issuer and audience; a token naming others is refused.
    JWT_ISSUER: str = Field(default="{{ cookiecutter.project_slug }}", min_length=1)
    JWT_AUDIENCE: str = Field(default="{{ cookiecutter.project_slug }}", min_length=1)
    # Failed logins allowed per account (by email, registered or not) and per client address
    # within the window; beyond them a login is refused (429) before any password is hashed.
    LOGIN_MAX_FAILURES_PER_ACCOUNT: int = Field(default=10, ge=1)
    LOGIN_MAX_FAILURES_PER_ADDRESS: int = Field(default=100, ge=1)
    LOGIN_FAILURE_WINDOW_MINUTES: int = Field(default=15, ge=1)
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses or networks,
    # such as `10.0.0.0/8`). Unset, the client is the address the connection comes from.
    TRUSTED_PROXIES: str = ""
    # Larger request bodies are refused (413) before they are read further.
    MAX_REQUEST_BODY_BYTES: int = Field(default=64 * 1024, ge=1024)
    # /docs, /redoc and /openapi.json; unset, they are served in development and test only.
    DOCS_ENABLED: bool | None = None
    # Browser origins allowed to call the API (CORS), comma-separated and exact, such as
    # https://app.example.com; empty, the API sends no CORS headers at all.
    CORS_ORIGINS: str = ""
    # A password change, or deleting one's own account, needs a password login this recent.
    REAUTH_MAX_AGE_MINUTES: int = Field(default=10, ge=1)

    # Outgoing email (password reset, verification). Without SMTP_HOST no email is sent: in
    # development and test each one is logged instead, with its link; staging and production
    # refuse to start without it.
    SMTP_HOST: str = ""
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_USERNAME: str = ""
    SMTP_PASSWORD: SecretStr = SecretStr("")
    # `starttls` upgrades a plain connection (port 587), `tls` starts encrypted (port 465),
    # `none` sends in clear text: for a server on the same host only, such as Mailpit.
    SMTP_SECURITY: Literal["starttls", "tls", "none"] = "starttls"
    SMTP_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=60)
    # The sender's address; PROJECT_NAME is its display name.
    EMAIL_FROM: str = Field(default="no-reply@example.com", pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    # Links in emails: `{token}` is replaced by the token. Point them at the page of your
    # front end that posts the token back to this API.
    PASSWORD_RESET_URL: str = "http://localhost:8000/reset-password?token={token}"  # noqa: S105
    PASSWORD_RESET_EXPIRE_MINUTES: int = Field(default=30, ge=1)
    EMAIL_VERIFICATION_URL: str = "http://localhost:8000/verify-email?token={token}"
    EMAIL_VERIFICATION_EXPIRE_HOURS: int = Field(default=48, ge=1)
    # Refuse password logins to accounts whose email is not verified yet.
    EMAIL_VERIFICATION_REQUIRED: bool = False
    # Emails of one kind (reset, verification) sent to one account per hour, at most.
    EMAILS_PER_ACCOUNT_PER_HOUR: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems = [
            *self._check_database_url(),
            *self._check_secret_key(),
            *self._check_trusted_proxies(),
            *self._check_email(),
        ]
        if self.PASSWORD_MIN_LENGTH > self.PASSWORD_MAX_LENGTH:
            problems.append("PASSWORD_MIN_LENGTH: must not exceed PASSWORD_MAX_LENGTH")
        problems.extend(
            f"CORS_ORIGINS: {origin!r} is not an origin (scheme://host[:port], no path)"
            for origin in self.cors_origins
            if not _is_origin(origin)
        )
        if self.ENVIRONMENT in DEPLOYED:
            problems.extend(self._check_argon2())
            problems.extend(self._check_lifetimes())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _check_database_url(self) -> list[str]:
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
            return [
                f"DATABASE_URL: must be a postgresql+psycopg:// (or sqlite:///) URL, "
                f"not {url.drivername}://"
            ]
        problems: list[str] = []
        if self.ENVIRONMENT in DEPLOYED and url.get_backend_name() == "postgresql":
            if "DATABASE_URL" not in self.model_fields_set:
                problems.append(f"DATABASE_URL: required in {self.ENVIRONMENT}")
            elif not url.password:
                problems.append(f"DATABASE_URL: needs a password in {self.ENVIRONMENT}")
            elif url.password.lower() in WELL_KNOWN_PASSWORDS:
                problems.append(
                    f"DATABASE_URL: the password is a well-known default (such as the example "
                    f"secret); set a random one in {self.ENVIRONMENT}"
                )
{%- else %}
        if url.drivername not in { {{- sqlite_drivers -}} }:
            return [f"DATABASE_URL: must be a sqlite:/// URL, not {url.drivername}://"]
        problems: list[str] = []
{%- endif %}
        self.DATABASE_URL = _anchored(url).render_as_string(hide_password=False)
        return problems

    def _check_secret_key(self) -> list[str]:
        if self.ENVIRONMENT not in DEPLOYED:
            if self.SECRET_KEY is None:
                self.SECRET_KEY = SecretStr(secrets.token_urlsafe(SECRET_KEY_MIN_BYTES))
            elif not self.SECRET_KEY.get_secret_value():
                # An empty key would sign every token; say so now, not at the first login.
                return ["SECRET_KEY: is empty; remove the line (a random key is used) or set one"]
            return []
        key = self.SECRET_KEY.get_secret_value() if self.SECRET_KEY is not None else ""
        if not key or key == EXAMPLE_SECRET:
            return [f"SECRET_KEY: must be set to a random secret in {self.ENVIRONMENT}"]
        if len(key.encode()) < SECRET_KEY_MIN_BYTES:
            return [f"SECRET_KEY: must be at least {SECRET_KEY_MIN_BYTES} bytes long"]
        if len(set(key)) < SECRET_KEY_MIN_DISTINCT_CHARACTERS:
            return [
                f"SECRET_KEY: must have at least {SECRET_KEY_MIN_DISTINCT_CHARACTERS} different "
                f"characters (a random secret, not a pattern)"
            ]
        if any(not _is_strong_key(key) for key in self.token_verification_keys):
            return [
                f"SECRET_KEY_PREVIOUS: every key must be at least {SECRET_KEY_MIN_BYTES} bytes "
                f"with {SECRET_KEY_MIN_DISTINCT_CHARACTERS} different characters"
            ]
        return []

    def _check_trusted_proxies(self) -> list[str]:
        problems = []
        for entry in _comma_separated(self.TRUSTED_PROXIES):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                problems.append(f"TRUSTED_PROXIES: {entry!r} is not an IP address or network")
        return problems

    def _check_email(self) -> list[str]:
        problems = [
            f"{name}: must contain {LINK_TOKEN_FIELD}"
            for name in ("PASSWORD_RESET_URL", "EMAIL_VERIFICATION_URL")
            if LINK_TOKEN_FIELD not in getattr(self, name)
        ]
        if self.ENVIRONMENT in DEPLOYED and not self.SMTP_HOST:
            problems.append(f"SMTP_HOST: required in {self.ENVIRONMENT} (accounts get email)")
        return problems

    def _check_lifetimes(self) -> list[str]:
        lifetimes = {
            "REFRESH_TOKEN_EXPIRE_DAYS": self.REFRESH_TOKEN_EXPIRE_DAYS,
            "SESSION_MAX_DAYS": self.SESSION_MAX_DAYS,
        }
        return [
            f"{name}: at most {MAX_LIFETIME_DAYS} in {self.ENVIRONMENT}"
            for name, days in lifetimes.items()
            if days > MAX_LIFETIME_DAYS
        ]

    def _check_argon2(self) -> list[str]:
        minimums = {
            "ARGON2_MEMORY_COST_KIB": (self.ARGON2_MEMORY_COST_KIB, ARGON2_MIN_MEMORY_COST_KIB),
            "ARGON2_TIME_COST": (self.ARGON2_TIME_COST, ARGON2_MIN_TIME_COST),
        }
        return [
            f"{name}: at least {minimum} in {self.ENVIRONMENT}"
            for name, (value, minimum) in minimums.items()
            if value < minimum
        ]

    @property
    def secret_key(self) -> str:
        """The key that signs new access tokens."""
        if self.SECRET_KEY is None:  # pragma: no cover - the validator always sets one
            raise RuntimeError("SECRET_KEY is not set")
        return self.SECRET_KEY.get_secret_value()

    @property
    def token_verification_keys(self) -> tuple[str, ...]:
        """Every key an access token may be signed with: the current one first."""
        return (self.secret_key, *_comma_separated(self.SECRET_KEY_PREVIOUS.get_secret_value()))

    @property
    def trusted_proxies(self) -> tuple[IPNetwork, ...]:
        """The networks whose X-Forwarded-For header is believed."""
        return tuple(
            ipaddress.ip_network(entry, strict=False)
            for entry in _comma_separated(self.TRUSTED_PROXIES)
        )

    @property
    def cors_origins(self) -> tuple[str, ...]:
        """The browser origins allowed to call the API."""
        return tuple(_comma_separated(self.CORS_ORIGINS))

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


def _comma_separated(value: str) -> list[str]:
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def _is_strong_key(key: str) -> bool:
    return (
        len(key.encode()) >= SECRET_KEY_MIN_BYTES
        and len(set(key)) >= SECRET_KEY_MIN_DISTINCT_CHARACTERS
    )


def _is_origin(value: str) -> bool:
    """Whether `value` is what a browser sends as Origin: scheme://host[:port], nothing more."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return False
    return (
        parts.scheme in {"http", "https"}
        and bool(parts.hostname)
        and "@" not in parts.netloc
        # Browsers send the scheme and the host in lower case, and no trailing slash.
        and value == f"{parts.scheme}://{parts.netloc.lower()}"
    )


def _anchored(url: URL) -> URL:
    """A SQLite URL whose relative path starts at the project root, not the working directory."""
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return url
    if Path(path).is_absolute():
        return url
    return url.set(database=str(PROJECT_ROOT / path))


def settings_problems(error: ValidationError) -> list[str]:
    """One line per problem, each naming its setting, never the value it was given."""
    lines: list[str] = []
    for problem in error.errors(include_input=False, include_url=False):
        if problem["loc"]:
            lines.append(f"{problem['loc'][0]}: {problem['msg']}")
        else:
            lines.extend(problem["msg"].removeprefix("Value error, ").splitlines())
    return lines


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process; stop the process if they are invalid."""
    try:
        return Settings()
    except ValidationError as error:
        lines = "\n".join(f"  {line}" for line in settings_problems(error))
        raise SystemExit(f"Invalid settings (environment or .env):\n{lines}") from None
