"""Store every email normalised (NFKC, lower case) and let the database enforce lower case.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 00:00:00+00:00
"""

import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table("users", sa.column("id"), sa.column("email", sa.String))


def normalise(email: str) -> str:
    """The application's rule when this revision was written; a revision never changes."""
    return unicodedata.normalize("NFKC", email).strip().lower()


def upgrade() -> None:
    if context.is_offline_mode():
        # A SQL script cannot read the rows: it lowers the case (no NFKC, no collision check;
        # a collision makes the unique index stop the script).
        lowered = sa.func.lower(users.c.email)
        op.execute(users.update().where(users.c.email != lowered).values(email=lowered))
    else:
        normalise_stored_emails()
    with op.batch_alter_table("users") as batch_op:
        batch_op.create_check_constraint(op.f("ck_users_email_lower"), "email = lower(email)")


def normalise_stored_emails() -> None:
    """Rewrite every email in its normal form, or change nothing if two would become one."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.email)).all()
    by_form: defaultdict[str, list[sa.Row[tuple[object, str]]]] = defaultdict(list)
    for row in rows:
        by_form[normalise(row.email)].append(row)
    clashes = [group for group in by_form.values() if len(group) > 1]
    if clashes:
        # Accounts are never merged silently: someone has to decide which one stays.
        named = "; ".join(
            " and ".join(f"{row.email} (id {row.id})" for row in group) for group in clashes
        )
        raise CommandError(
            f"emails that normalise to the same address, nothing changed: {named}; "
            "rename or remove one of each and run the upgrade again"
        )
    for row in rows:
        if normalise(row.email) != row.email:
            connection.execute(
                users.update().where(users.c.id == row.id).values(email=normalise(row.email))
            )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint(op.f("ck_users_email_lower"), type_="check")
