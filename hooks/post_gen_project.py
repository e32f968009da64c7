"""Finish the generated project: keep the chosen mode's files, write `.env`, say what's next.

Safe to run again on the finished project: what is done already is left as it is, and an
existing `.env` (the project's own secrets) is never replaced. `cruft update` runs this hook
again, on fresh renders of the old and the new template.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")

# The value `.env.example` uses for every secret; `.env` gets a fresh random value instead.
EXAMPLE_SECRET = "changeme"  # noqa: S105 - the value to replace, not a secret

# Files that differ a lot between the SQLAlchemy modes: the template holds each of them twice,
# as `name.sync.py` and `name.async.py`, rather than one file full of conditionals. The chosen
# mode's file becomes `name.py`; the other one is deleted.
MODES = ("sync", "async")
MODE_FILES = (
    "backend/alembic/env.py",
    "backend/app/api/deps.py",
    "backend/app/api/routes/auth.py",
    "backend/app/api/routes/users.py",
    "backend/app/db/session.py",
    "backend/app/prune_sessions.py",
    "backend/app/repositories/account_tokens.py",
    "backend/app/repositories/auth_sessions.py",
    "backend/app/repositories/base.py",
    "backend/app/repositories/login_failures.py",
    "backend/app/repositories/refresh_tokens.py",
    "backend/app/repositories/users.py",
    "backend/app/superuser.py",
    "backend/scaffold/templates/repository.jinja",
    "backend/scaffold/templates/routes.jinja",
    "backend/tests/conftest.py",
    "backend/tests/test_health.py",
    "backend/tests/test_persistence.py",
)


# Files only PostgreSQL projects use; SQLite projects do not get them.
POSTGRESQL_FILES = ("backend/app/db/postgresql.py", "backend/tests/test_postgresql.py")


def keep_mode_files(project: Path, mode: str) -> None:
    """Keep the chosen mode's variant of every file in `MODE_FILES`."""
    for name in MODE_FILES:
        target = project / name
        for variant_mode in MODES:
            variant = target.with_name(f"{target.stem}.{variant_mode}{target.suffix}")
            if variant_mode != mode:
                variant.unlink(missing_ok=True)
            elif variant.exists():
                variant.replace(target)


def drop_other_database_files(project: Path, database: str) -> None:
    """Remove what only another database needs."""
    if database != "postgresql":
        for name in POSTGRESQL_FILES:
            (project / name).unlink(missing_ok=True)


def keep_lock(project: Path, database: str, mode: str) -> None:
    """Keep the lock of the project's database and mode as `uv.lock` (the template holds one
    per pair, `uv.<database>-<mode>.lock`, made by its `make lock`)."""
    for variant in project.glob("uv.*-*.lock"):
        if variant.name == f"uv.{database}-{mode}.lock":
            variant.replace(project / "uv.lock")
        else:
            variant.unlink()


def write_env(project: Path) -> None:
    """Create `.env` from `.env.example`, with new random values for the secrets.

    The token signing key gets a value of its own; the database password, which appears in
    more than one line, gets one value everywhere. An existing `.env` stays: its database
    password is the one the database was created with.
    """
    env = project / ".env"
    if env.exists():
        return
    example = (project / ".env.example").read_text(encoding="utf-8")
    signing_key = f"SECRET_KEY={secrets.token_urlsafe(48)}"
    content = example.replace(f"SECRET_KEY={EXAMPLE_SECRET}", signing_key)
    content = content.replace(EXAMPLE_SECRET, secrets.token_urlsafe(24))
    env.write_text(content, encoding="utf-8")
    env.chmod(0o600)


def record_template_commit(project: Path) -> None:
    """Add the template's commit to `.cookiecutter.json`, for `cruft link --checkout`.

    cruft names the commit it renders (`_commit`); cookiecutter, the template's directory: a
    git checkout there (a clone, or cookiecutter's own clone of `gh:...`) names its commit. From
    files outside git the project names none, and the README's link command uses `main`.
    """
    commit = ANSWERS.get("_commit") or checkout_commit(ANSWERS.get("_repo_dir", ""))
    if not commit:
        return
    answers_file = project / ".cookiecutter.json"
    answers = json.loads(answers_file.read_text(encoding="utf-8"))
    answers["template_commit"] = commit
    answers_file.write_text(json.dumps(answers, indent=2) + "\n", encoding="utf-8")


def checkout_commit(directory: str) -> str | None:
    """The commit checked out in `directory`, or None when it is no git checkout."""
    if not directory:
        return None
    template = Path(directory)
    if not template.is_absolute():
        # Relative to where cookiecutter was started, which PWD still names (hooks run in the
        # new project).
        template = Path(os.environ.get("PWD", "/")) / template
    try:
        return subprocess.run(  # noqa: S603 - git, on the template's own directory
            ["git", "-C", str(template), "rev-parse", "--verify", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def main() -> None:
    project = Path.cwd()
    keep_mode_files(project, ANSWERS["sqlalchemy_mode"])
    drop_other_database_files(project, ANSWERS["database"])
    keep_lock(project, ANSWERS["database"], ANSWERS["sqlalchemy_mode"])
    write_env(project)
    record_template_commit(project)
    print(
        f"\nCreated {ANSWERS['project_name']} in {project}\n\n"
        "Next steps:\n"
        f"  cd {project.name}\n"
        "  make run    # virtualenv, install, migrate, serve on http://127.0.0.1:8000\n"
        "  make test   # the test suite\n"
        f"{postgresql_note(project)}"
    )


def postgresql_note(project: Path) -> str:
    """What a PostgreSQL project's first `make run` needs: the server and role DATABASE_URL
    names (the database itself is created when the role may)."""
    if ANSWERS["database"] != "postgresql":
        return ""
    slug = ANSWERS["project_slug"]
    return (
        f"\nmake run migrates the database DATABASE_URL in {project.name}/.env names: the role\n"
        f"{slug} on localhost:5432, with the password .env holds. Create that role once\n"
        f"(createuser --createdb --pwprompt {slug}) and make run creates the database;\n"
        "or run `make up` for PostgreSQL in Docker, or point DATABASE_URL elsewhere.\n"
    )


if __name__ == "__main__":
    main()
