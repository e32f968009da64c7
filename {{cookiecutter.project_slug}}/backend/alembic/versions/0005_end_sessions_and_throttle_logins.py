"""Sessions that end, and login throttling: `auth_sessions` and `login_failures`.

Every refresh-token family with a live token becomes a session (its first token's time is the
login's); the tokens of families that had ended are deleted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
{%- if cookiecutter.primary_key == "int" %}
# Rebuilt on SQLite, `refresh_tokens` keeps the AUTOINCREMENT key that 0004 gave it.
REBUILT_TABLE_OPTIONS = {"sqlite_autoincrement": True}
{%- else %}
REBUILT_TABLE_OPTIONS: dict[str, bool] = {}
{%- endif %}

refresh_tokens = sa.table(
    "refresh_tokens",
    sa.column("family_id"),
    sa.column("user_id"),
    sa.column("created_at"),
    sa.column("expires_at"),
    sa.column("revoked_at"),
)
auth_sessions = sa.table(
    "auth_sessions",
    sa.column("id"),
    sa.column("user_id"),
    sa.column("auth_time"),
    sa.column("expires_at"),
    sa.column("created_at"),
    sa.column("updated_at"),
)


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
{%- if cookiecutter.primary_key == "uuid" %}
        sa.Column("user_id", sa.Uuid(), nullable=False),
{%- else %}
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
{%- endif %}
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"], unique=False)
    sessions_of_live_families = (
        sa.select(
            refresh_tokens.c.family_id,
            refresh_tokens.c.user_id,
            sa.func.min(refresh_tokens.c.created_at),
            sa.func.max(refresh_tokens.c.expires_at),
            sa.func.min(refresh_tokens.c.created_at),
            sa.func.min(refresh_tokens.c.created_at),
        )
        .group_by(refresh_tokens.c.family_id, refresh_tokens.c.user_id)
        .having(sa.func.sum(sa.case((refresh_tokens.c.revoked_at.is_(None), 1), else_=0)) > 0)
    )
    op.execute(
        auth_sessions.insert().from_select(
            ["id", "user_id", "auth_time", "expires_at", "created_at", "updated_at"],
            sessions_of_live_families,
        )
    )
    op.execute(
        refresh_tokens.delete().where(
            refresh_tokens.c.family_id.not_in(sa.select(auth_sessions.c.id))
        )
    )
    with op.batch_alter_table("refresh_tokens", table_kwargs=REBUILT_TABLE_OPTIONS) as batch_op:
        batch_op.add_column(
            sa.Column("generation", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_foreign_key(
            op.f("fk_refresh_tokens_family_id_auth_sessions"),
            "auth_sessions",
            ["family_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )
    op.create_index(
        op.f("ix_login_failures_window_started_at"),
        "login_failures",
        ["window_started_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_login_failures_window_started_at"), table_name="login_failures")
    op.drop_table("login_failures")
    with op.batch_alter_table("refresh_tokens", table_kwargs=REBUILT_TABLE_OPTIONS) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_refresh_tokens_family_id_auth_sessions"), type_="foreignkey"
        )
        batch_op.drop_column("generation")
    op.drop_index(op.f("ix_auth_sessions_user_id"), table_name="auth_sessions")
    op.drop_table("auth_sessions")
