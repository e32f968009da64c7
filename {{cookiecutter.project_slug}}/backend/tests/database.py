"""The test database: chosen, and the settings fixed, before any application code reads them.

Importing this module (conftest.py does, first) points DATABASE_URL at a database of the run's
own, so the suite never touches the development database nor reads secrets from `.env`.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

{% if cookiecutter.database == "postgresql" -%}
import pytest
{% endif -%}
from alembic.config import Config
{%- if cookiecutter.database == "postgresql" %}
from dotenv import dotenv_values
from sqlalchemy import create_engine, make_url, text

from app.core.config import PROJECT_ROOT, get_settings
{%- else %}
from sqlalchemy import make_url

from app.core.config import get_settings
{%- endif %}

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
_DATABASE_DIRECTORY = tempfile.mkdtemp(prefix="{{ cookiecutter.project_slug }}-tests-")
atexit.register(shutil.rmtree, _DATABASE_DIRECTORY, ignore_errors=True)
{%- if cookiecutter.database == "postgresql" %}


def _test_database_url() -> str:
    """TEST_DATABASE_URL, suffixed per xdist worker; without it, a temporary SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL") or dotenv_values(PROJECT_ROOT / ".env").get(
        "TEST_DATABASE_URL"
    )
    if not url:
        return f"sqlite:///{_DATABASE_DIRECTORY}/test.db"
    parsed = make_url(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        parsed = parsed.set(database=f"{parsed.database}_{worker}")
    if parsed.database == make_url(get_settings().DATABASE_URL).database:
        pytest.exit("TEST_DATABASE_URL names the development database: the tests would wipe it.")
    return parsed.render_as_string(hide_password=False)


TEST_DATABASE_URL = _test_database_url()
ON_POSTGRESQL = make_url(TEST_DATABASE_URL).get_backend_name() == "postgresql"
{%- else %}
TEST_DATABASE_URL = f"sqlite:///{_DATABASE_DIRECTORY}/test.db"
{%- endif %}

os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATABASE_URL": TEST_DATABASE_URL,
        # Cheap Argon2 parameters: the suite hashes hundreds of passwords.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "64",
        "ARGON2_PARALLELISM": "1",
        # No mail server: emails are logged, as in development. Tests that read email take
        # the `mailbox` fixture, which points the settings at the suite's SMTP server.
        "SMTP_HOST": "",
{%- if cookiecutter.database == "postgresql" %}
        # Sessions in a zone other than UTC (libpq reads PGTZ), as on a server configured that
        # way: every timestamp must still come back in UTC. +05:30, so no whole-hour slip hides.
        "PGTZ": "Asia/Kolkata",
{%- endif %}
    }
)
get_settings.cache_clear()


def report_lines() -> list[str]:
    """Which database the run uses, for pytest's header."""
    url = make_url(TEST_DATABASE_URL)
    database = f"database: {url.get_backend_name()} ({url.render_as_string(hide_password=True)})"
{%- if cookiecutter.database == "postgresql" %}
    if not ON_POSTGRESQL:
        fallback = "TEST_DATABASE_URL is not set: SQLite stands in, PostgreSQL itself is untested"
        return [database, fallback]
{%- endif %}
    return [database]


def database_beside(name: str) -> str:
    """Another database of the run's own, on the same server or in the same directory: `make
    fuzz` serves the app on one while a test run may use the suite's."""
{%- if cookiecutter.database == "postgresql" %}
    if ON_POSTGRESQL:
        url = make_url(TEST_DATABASE_URL)
        return url.set(database=f"{url.database}_{name}").render_as_string(hide_password=False)
{%- endif %}
    return f"sqlite:///{_DATABASE_DIRECTORY}/{name}.db"


def create_test_database(url: str = TEST_DATABASE_URL) -> None:
    """An empty database at `url`: recreated on PostgreSQL; on SQLite, no file left from before
    (SQLite creates it on first use)."""
{%- if cookiecutter.database == "postgresql" %}
    if make_url(url).get_backend_name() == "postgresql":
        recreate_database(url)
        return
{%- endif %}
    remove_test_database(url)


def remove_test_database(url: str = TEST_DATABASE_URL) -> None:
    """Drop the database at `url` (the directory of SQLite files goes when the process ends)."""
{%- if cookiecutter.database == "postgresql" %}
    if make_url(url).get_backend_name() == "postgresql":
        drop_database(url)
        return
{%- endif %}
    file = make_url(url).database
    if file:
        Path(file).unlink(missing_ok=True)
{%- if cookiecutter.database == "postgresql" %}


def run_on_server(url: str, *statements: str) -> None:
    """Run `statements` on the maintenance database of the server `url` points at."""
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    server.dispose()


def recreate_database(url: str) -> None:
    """Create the database `url` names, empty, dropping any previous one."""
    name = make_url(url).database
    run_on_server(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )


def drop_database(url: str) -> None:
    """Drop the database `url` names."""
    run_on_server(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
{%- endif %}


def project_alembic_config() -> Config:
    """The project's Alembic configuration, without its logging set-up."""
    config = Config(ALEMBIC_INI)
    config.attributes["configure_logger"] = False
    return config
