"""Never reuse an integer id on SQLite: declare the primary keys AUTOINCREMENT.

{%- if cookiecutter.primary_key == "int" %}

Without it SQLite gives a new row the largest id plus one, so the id of the newest user, once
deleted, goes to the next one to sign up. SQLite cannot alter a primary key: each table is
rebuilt (copied with its rows, indexes and constraints). PostgreSQL's identity columns never
reuse an id: nothing changes there.
{%- else %}

UUID keys are never reused: nothing changes. The revision is here so that every project has
the same chain of template revisions, whatever its answers.
{%- endif %}

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 00:00:00+00:00
"""

from collections.abc import Sequence
{%- if cookiecutter.primary_key == "int" %}

from alembic import op
{%- endif %}

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
{%- if cookiecutter.primary_key == "int" %}

# Every table whose key comes from `IdMixin`.
TABLES = ("users", "refresh_tokens")


def on_sqlite() -> bool:
    """PostgreSQL identity columns never reuse an id: only SQLite tables change."""
    return op.get_context().dialect.name == "sqlite"


def upgrade() -> None:
    if not on_sqlite():
        return
    for table in TABLES:
        # Recreating the table with the new option is the whole change.
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if not on_sqlite():
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ) as batch_op:
            # SQLite declares an AUTOINCREMENT key inline, without the name 0001 and 0002 gave it.
            batch_op.create_primary_key(op.f(f"pk_{table}"), ["id"])
{%- else %}


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
{%- endif %}
