"""A SQLite database file the app or Alembic creates is private to its owner (0600)."""

import stat
from pathlib import Path

{% if cookiecutter.sqlalchemy_mode == "async" -%}
import anyio
{% endif -%}
import pytest
from alembic import command

from app.core.config import Settings, get_settings
from app.db.session import create_engine_from_settings
from tests.database import project_alembic_config
{%- if cookiecutter.sqlalchemy_mode == "async" %}

SQLITE_DRIVER = "sqlite+aiosqlite"


def connect_once(settings: Settings) -> None:
    """Open and close one connection of the app's engine on `settings`."""

    async def connect() -> None:
        engine = create_engine_from_settings(settings)
        async with engine.connect():
            pass
        await engine.dispose()

    anyio.run(connect)
{%- else %}

SQLITE_DRIVER = "sqlite"


def connect_once(settings: Settings) -> None:
    """Open and close one connection of the app's engine on `settings`."""
    engine = create_engine_from_settings(settings)
    with engine.connect():
        pass
    engine.dispose()
{%- endif %}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def settings_on(path: Path) -> Settings:
    return get_settings().model_copy(update={"DATABASE_URL": f"{SQLITE_DRIVER}:///{path}"})


def test_the_app_creates_a_new_database_file_0600(tmp_path: Path) -> None:
    database = tmp_path / "app.db"

    connect_once(settings_on(database))

    assert mode_of(database) == 0o600


def test_migrations_create_a_new_database_file_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "migrated.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    try:
        command.upgrade(project_alembic_config(), "head")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    assert mode_of(database) == 0o600
    assert {mode_of(path) for path in tmp_path.iterdir()} == {0o600}


def test_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    database.touch()
    database.chmod(0o640)

    connect_once(settings_on(database))

    assert mode_of(database) == 0o640
