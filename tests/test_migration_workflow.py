"""The documented migration workflow, end to end, on each database."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, make_url

from tests.conftest import (
    Baked,
    each_combination,
    each_postgresql_combination,
    postgres_server_url,
    recreate_database,
)

NICKNAME_FIELD = "    nickname: Mapped[str | None] = mapped_column(String(50))\n"


def copy_with_nickname(baked: Baked, destination: Path) -> Baked:
    """A copy of the baked project whose User model gained a nullable column."""
    project = destination / baked.path.name
    shutil.copytree(baked.path, project, ignore=shutil.ignore_patterns(".git", ".mypy_cache"))
    model = project / "backend/app/models/user.py"
    source = model.read_text(encoding="utf-8")
    anchor = "    is_active: Mapped[bool]"
    assert anchor in source
    model.write_text(source.replace(anchor, NICKNAME_FIELD + anchor), encoding="utf-8")
    env = dict(baked.env)
    if baked.combination.database == "postgresql":
        test_url = make_url(baked.env["TEST_DATABASE_URL"])
        database_url = test_url.set(database=f"{test_url.database}_workflow")
        env["DATABASE_URL"] = database_url.render_as_string(hide_password=False)
        server = postgres_server_url()
        assert server is not None
        recreate_database(server, str(database_url.database))
    else:
        env["DATABASE_URL"] = f"sqlite:///{project / 'workflow.db'}"
    return Baked(baked.combination, project, env)


def user_columns(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        return {column["name"] for column in inspect(engine).get_columns("users")}
    finally:
        engine.dispose()


@each_combination
def test_a_model_change_is_caught_then_migrated_checked_and_undone(
    baked: Baked, tmp_path: Path
) -> None:
    project = copy_with_nickname(baked, tmp_path)
    venv_bin = Path(project.env["VENV"]) / "bin"

    # The model has a column no migration creates: both guards catch it.
    project.make("db-upgrade")
    assert "nickname" not in user_columns(project.env["DATABASE_URL"])
    check = project.make("db-check", check=False)
    suite = project.run(
        str(venv_bin / "pytest"),
        "backend/tests/test_migrations.py",
        "-k",
        "model_definitions_match_ddl",
        check=False,
    )
    assert check.returncode != 0
    assert "nickname" in check.stdout + check.stderr
    assert suite.returncode == 1, suite.stdout
    assert "nickname" in suite.stdout

    # The documented workflow: autogenerate, upgrade, check, downgrade.
    versions = project.path / "backend/alembic/versions"
    before = f"{datetime.now(UTC):%Y%m%d_%H%M%S}"
    project.make("db-revision", msg="add nickname")
    after = f"{datetime.now(UTC):%Y%m%d_%H%M%S}"
    # The project's revisions are named by their UTC date and time, never like the template's.
    written = sorted(versions.glob("*_add_nickname.py"))
    assert len(written) == 1, sorted(path.name for path in versions.iterdir())
    revision = written[0]
    assert re.fullmatch(r"\d{8}_\d{6}_add_nickname\.py", revision.name)
    assert before <= revision.name[:15] <= after
    assert "nickname" in revision.read_text(encoding="utf-8")
    project.run(str(venv_bin / "ruff"), "check", str(revision))
    project.run(str(venv_bin / "ruff"), "format", "--check", str(revision))
    project.make("db-upgrade")
    project.make("db-check")
    assert "nickname" in user_columns(project.env["DATABASE_URL"])
    project.make("db-downgrade")
    assert "nickname" not in user_columns(project.env["DATABASE_URL"])


@each_postgresql_combination
def test_offline_mode_prints_the_ddl(baked: Baked) -> None:
    """`alembic upgrade head --sql`, as db/README.md documents it for PostgreSQL."""
    alembic = str(Path(baked.env["VENV"]) / "bin/alembic")

    result = baked.run(
        alembic,
        "-c",
        "backend/alembic.ini",
        "upgrade",
        "head",
        "--sql",
        env={"DATABASE_URL": baked.env["TEST_DATABASE_URL"]},
    )

    assert "BEGIN;" in result.stdout
    assert "CREATE TABLE users" in result.stdout
    assert "CREATE UNIQUE INDEX ix_users_email ON users (email);" in result.stdout
    assert "COMMIT;" in result.stdout
