"""The migrations: one head, an intact chain, a clean round trip, and models that match them."""

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Engine, create_engine, inspect{% if cookiecutter.database == "postgresql" %}, make_url, text{% endif %}

from app.db.sqlite import use_explicit_transactions
{%- if cookiecutter.database == "sqlite" %}
from tests.conftest import project_alembic_config
{%- else %}
from tests.conftest import (
    ON_POSTGRESQL,
    TEST_DATABASE_URL,
    drop_database,
    project_alembic_config,
    recreate_database,
)
{%- endif %}

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]
{%- if cookiecutter.database == "postgresql" %}


@pytest.fixture(scope="module")
def migrations_database() -> Iterator[str]:
    """A PostgreSQL database of its own, so migrating up and down never disturbs other tests."""
    url = make_url(TEST_DATABASE_URL)
    migrations_url = url.set(database=f"{url.database}_migrations").render_as_string(
        hide_password=False
    )
    recreate_database(migrations_url)
    yield migrations_url
    drop_database(migrations_url)


@pytest.fixture
def alembic_engine(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An empty database for each test: a fresh schema, or a new SQLite file."""
    if ON_POSTGRESQL:
        engine = create_engine(request.getfixturevalue("migrations_database"))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
        use_explicit_transactions(engine)
    yield engine
    engine.dispose()
{%- else %}


@pytest.fixture
def alembic_engine(tmp_path: Path) -> Iterator[Engine]:
    """A new, empty database file for each test."""
    engine = create_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
    use_explicit_transactions(engine)
    yield engine
    engine.dispose()
{%- endif %}


@pytest.fixture
def alembic_config() -> Config:
    return project_alembic_config()


def test_downgrade_to_base_leaves_no_application_table(
    alembic_config: Config, alembic_engine: Engine
) -> None:
    with alembic_engine.connect() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "head")
        command.downgrade(alembic_config, "base")
        connection.commit()
        tables = set(inspect(connection).get_table_names())
        command.upgrade(alembic_config, "head")
        connection.commit()
        tables_again = set(inspect(connection).get_table_names())

    assert tables <= {"alembic_version"}
    assert "users" in tables_again


def test_every_revision_links_to_the_one_before(alembic_config: Config) -> None:
    script = ScriptDirectory.from_config(alembic_config)
    revisions = list(script.walk_revisions())  # newest first, following down_revision

    assert revisions[-1].down_revision is None
    assert [revision.revision for revision in revisions] == [
        revision.revision for revision in sorted(revisions, key=lambda r: r.revision, reverse=True)
    ]
    for newer, older in pairwise(revisions):
        assert newer.down_revision == older.revision
    for revision in revisions:
        assert Path(revision.path).name.startswith(f"{revision.revision}_")
