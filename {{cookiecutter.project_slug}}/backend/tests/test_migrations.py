"""The migrations: one head, an intact chain, a clean round trip, and models that match them."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import (
    Connection,
    Engine,
    String,
    Uuid,
    column,
    create_engine,
    insert,
    inspect,
{%- if cookiecutter.database == "postgresql" %}
    make_url,
{%- endif %}
    select,
    text,
)
from sqlalchemy import table as sa_table
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateTable

from app.db.base import Base
from app.db.sqlite import use_explicit_transactions
from app.db.types import UTCDateTime
from app.models.mixins import ID_COLUMN_TYPE, Id
from app.models.refresh_token import RefreshToken
from app.models.user import User
{%- if cookiecutter.database == "sqlite" %}
from tests.database import project_alembic_config
{%- else %}
from tests.database import (
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


def application_schema(connection: Connection) -> dict[str, dict[str, Any]]:
    """What the inspector sees of each application table: columns, keys, indexes, checks."""
    inspector = inspect(connection)
    return {
        table: {
            "columns": [
                (column["name"], str(column["type"]), column["nullable"], column["default"])
                for column in inspector.get_columns(table)
            ],
            "primary key": inspector.get_pk_constraint(table),
            "foreign keys": inspector.get_foreign_keys(table),
            "indexes": sorted(inspector.get_indexes(table), key=lambda index: str(index["name"])),
            "unique": sorted(
                inspector.get_unique_constraints(table), key=lambda unique: str(unique["name"])
            ),
            "checks": sorted(
                inspector.get_check_constraints(table), key=lambda check: str(check["name"])
            ),
        }
        for table in sorted(inspector.get_table_names())
        if table != "alembic_version"
    }


def test_downgrading_to_0001_leaves_the_schema_of_a_fresh_upgrade_to_0001(
    alembic_config: Config, alembic_engine: Engine
) -> None:
    """By revision id, not by steps: whatever the template adds later is undone too."""
    with alembic_engine.connect() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "0001")
        connection.commit()
        fresh = application_schema(connection)
        command.upgrade(alembic_config, "head")
        command.downgrade(alembic_config, "0001")
        connection.commit()
        downgraded = application_schema(connection)

    assert set(fresh) == {"users"}
    assert "is_superuser" not in [column[0] for column in fresh["users"]["columns"]]
    assert downgraded == fresh


def test_every_revision_links_to_the_one_before(alembic_config: Config) -> None:
    """The template's revisions, 0001, 0002, ..., form one chain; the project's build on it.

    The project's own revisions are named by date and time (env.py), never like the template's:
    a revision id present twice would make Alembic warn, and this suite fail, on every use.
    """
    script = ScriptDirectory.from_config(alembic_config)
    revisions = {revision.revision: revision for revision in script.walk_revisions()}
    template = sorted(name for name in revisions if len(name) == 4 and name.isdigit())

    assert template == [f"{number:04d}" for number in range(1, len(template) + 1)]
    assert revisions["0001"].down_revision is None
    for older, newer in pairwise(template):
        assert revisions[newer].down_revision == older
    for revision in revisions.values():
        assert Path(revision.path).name.startswith(f"{revision.revision}_")


def emails(connection: Connection) -> list[str]:
    return sorted(connection.scalars(select(User.email)))


def add_users(connection: Connection, *addresses: str) -> None:
    # Only the columns of 0002's `users`: the model's later ones do not exist yet.
    users = sa_table(
        "users", column("id", ID_COLUMN_TYPE), column("email"), column("hashed_password")
    )
    uuid_keys = isinstance(User.__table__.c.id.type, Uuid)
    rows: list[dict[str, Any]] = []
    for address in addresses:
        row: dict[str, Any] = {"email": address, "hashed_password": "not-a-real-hash"}
        if uuid_keys:  # UUIDs come from the application, integers from the database
            row["id"] = uuid.uuid4()
        rows.append(row)
    connection.execute(insert(users), rows)
    connection.commit()


def test_the_upgrade_normalises_existing_emails_and_the_database_keeps_them_lower_case(
    alembic_config: Config, alembic_engine: Engine
) -> None:
    with alembic_engine.connect() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "0002")
        add_users(
            connection,
            "Carol@Example.com",
            "\uff44\uff41\uff56\uff45@example.com",
            "\ufb01nance@example.com",
        )

        command.upgrade(alembic_config, "head")
        connection.commit()
        upgraded = emails(connection)
        with pytest.raises(IntegrityError):
            add_users(connection, "Mixed@Example.com")
        connection.rollback()

        command.downgrade(alembic_config, "0002")
        connection.commit()
        downgraded = emails(connection)
        add_users(connection, "Mixed@Example.com")

    assert upgraded == ["carol@example.com", "dave@example.com", "finance@example.com"]
    assert downgraded == upgraded


def test_the_upgrade_stops_when_normalised_emails_would_collide(
    alembic_config: Config, alembic_engine: Engine
) -> None:
    with alembic_engine.connect() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "0002")
        add_users(connection, "erin@example.com", "Erin@Example.com", "frank@example.com")

        with pytest.raises(CommandError) as caught:
            command.upgrade(alembic_config, "head")
        connection.rollback()
        unchanged = emails(connection)
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))

    message = str(caught.value)
    assert "\n" not in message
    assert "erin@example.com" in message
    assert "Erin@Example.com" in message
    assert "frank@example.com" not in message
    assert unchanged == ["Erin@Example.com", "erin@example.com", "frank@example.com"]
    assert version == "0002"


def schema(connection: Connection) -> dict[str, dict[str, object]]:
    """What a migration must keep of each table: columns, keys, indexes and constraints."""
    inspector = inspect(connection)
    return {
        table: {
            "columns": [
                (column["name"], column["nullable"]) for column in inspector.get_columns(table)
            ],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign keys": inspector.get_foreign_keys(table),
            "indexes": sorted(inspector.get_indexes(table), key=lambda index: str(index["name"])),
            "unique": inspector.get_unique_constraints(table),
            "checks": inspector.get_check_constraints(table),
        }
        for table in ("users", "refresh_tokens")
    }


def rows(connection: Connection) -> list[object]:
    return [
        *connection.execute(select(User.id, User.email, User.is_superuser)).all(),
        *connection.execute(select(RefreshToken.user_id, RefreshToken.token_hash)).all(),
    ]


def add_refresh_token_as_of_0003(connection: Connection, user_id: Id) -> None:
    """A refresh token row with the columns 0003 knows (today's model has more)."""
    refresh_tokens = sa_table(
        "refresh_tokens",
        column("id", ID_COLUMN_TYPE),
        column("user_id", ID_COLUMN_TYPE),
        column("family_id", Uuid()),
        column("token_hash", String()),
        column("expires_at", UTCDateTime()),
    )
    values: dict[str, Any] = {
{%- if cookiecutter.primary_key == "uuid" %}
        "id": uuid.uuid4(),
{%- endif %}
        "user_id": user_id,
        "family_id": uuid.uuid4(),
        "token_hash": "f" * 64,
        "expires_at": datetime.now(UTC),
    }
    connection.execute(insert(refresh_tokens).values(values))


def test_0004_keeps_every_row_index_and_constraint_up_and_down(
    alembic_config: Config, alembic_engine: Engine
) -> None:
    """On SQLite with integer keys 0004 rebuilds both tables; elsewhere it changes nothing."""
    with alembic_engine.connect() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "0003")
        add_users(connection, "ida@example.com")
        add_refresh_token_as_of_0003(connection, connection.execute(select(User.id)).scalar_one())
        connection.commit()
        before = (schema(connection), rows(connection))

        command.upgrade(alembic_config, "0004")
        connection.commit()
        upgraded = (schema(connection), rows(connection))
        with pytest.raises(IntegrityError):
            add_users(connection, "Upper@Example.com")
        connection.rollback()
        command.downgrade(alembic_config, "0003")
        connection.commit()
        downgraded = (schema(connection), rows(connection))

    assert upgraded == before
    assert downgraded == before


def test_the_migrations_declare_autoincrement_on_sqlite_as_the_models_do(
    alembic_config: Config, tmp_path: Path
) -> None:
    """Autogenerate cannot see AUTOINCREMENT (without it SQLite reuses the ids of deleted
    rows); the SQL SQLite keeps for each table can."""
    engine = create_engine(f"sqlite:///{tmp_path / 'autoincrement.db'}")
    use_explicit_transactions(engine)
    with engine.connect() as connection:
        alembic_config.attributes["connection"] = connection
        command.upgrade(alembic_config, "head")
        connection.commit()
        query = text("SELECT name, sql FROM sqlite_master")
        migrated: dict[str, str] = dict(connection.execute(query).all())
    engine.dispose()

    for table in Base.metadata.sorted_tables:
        modelled = str(CreateTable(table).compile(dialect=sqlite.dialect()))
        assert ("AUTOINCREMENT" in modelled) == ("AUTOINCREMENT" in migrated[table.name]), table
{%- if cookiecutter.primary_key == "int" %}
        if "id" in table.c and table.c["id"].autoincrement is True:  # an `IdMixin` key
            assert "AUTOINCREMENT" in modelled, table
{%- endif %}
