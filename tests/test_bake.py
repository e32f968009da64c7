"""Every combination bakes into a complete, clean project."""

from __future__ import annotations

import json
import py_compile
import re
from pathlib import Path

from tests.conftest import VENV_BIN, Baked, each_combination

JINJA_DEBRIS = re.compile(r"\{\{\s*cookiecutter|\{%-?\s*(if|for|else|endif|endfor|raw|set)\b|\{#")
EXPECTED_FILES = [
    ".cookiecutter.json",
    ".dockerignore",
    ".env",
    ".env.example",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    "Dockerfile",
    "Makefile",
    "README.md",
    "docker-compose.yml",
    "pyproject.toml",
    "schemathesis.toml",
    "uv.lock",
    "backend/alembic.ini",
    "backend/alembic/env.py",
    "backend/alembic/versions/0001_create_users_table.py",
    "backend/app/api/router.py",
    "backend/app/api/routes/users.py",
    "backend/app/core/security.py",
    "backend/app/db/README.md",
    "backend/app/db/base.py",
    "backend/app/db/session.py",
    "backend/app/models/__init__.py",
    "backend/app/models/user.py",
    "backend/app/repositories/base.py",
    "backend/app/repositories/users.py",
    "backend/tests/test_health.py",
    "backend/tests/test_persistence.py",
]


# How every server the project starts runs uvicorn: a bounded request head, and client addresses
# from the connection only.
SERVER_OPTIONS = (
    "--http app.server:BoundedHttpToolsProtocol",
    "--no-proxy-headers",
)
# What tools write into a project while the tests run: not part of what was generated.
TOOL_OUTPUT = {".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "__pycache__"}


def project_files(root: Path) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and not TOOL_OUTPUT.intersection(path.relative_to(root).parts)
    ]


@each_combination
def test_the_project_has_every_file_of_the_specification(baked: Baked) -> None:
    missing = [name for name in EXPECTED_FILES if not (baked.path / name).is_file()]

    assert missing == []


# The templates of `make resource`: Jinja by design, copied as they are.
SCAFFOLD_TEMPLATES = Path("backend/scaffold/templates")


@each_combination
def test_no_jinja_is_left_in_any_file(baked: Baked) -> None:
    leftovers = [
        str(path.relative_to(baked.path))
        for path in project_files(baked.path)
        if not path.relative_to(baked.path).is_relative_to(SCAFFOLD_TEMPLATES)
        and JINJA_DEBRIS.search(path.read_text(encoding="utf-8"))
    ]

    assert leftovers == []


def layout_problem(path: Path) -> str | None:
    """What is wrong with the blank lines or trailing whitespace of one file, if anything."""
    content = path.read_text(encoding="utf-8")
    # ruff format owns Python's blank lines; elsewhere two blank lines in a row are debris.
    blank_run = "\n\n\n\n" if path.suffix in {".py", ".mako", ".jinja"} else "\n\n\n"
    problems = {
        "run of blank lines": blank_run in content,
        "no final newline": bool(content) and not content.endswith("\n"),
        "blank lines at the end": content.endswith("\n\n"),
        "blank first line": content.startswith("\n"),
        "trailing whitespace": any(line != line.rstrip() for line in content.splitlines()),
    }
    found = [name for name, present in problems.items() if present]
    return ", ".join(found) or None


@each_combination
def test_no_blank_line_debris(baked: Baked) -> None:
    offenders = {
        str(path.relative_to(baked.path)): problem
        for path in project_files(baked.path)
        if (problem := layout_problem(path))
    }

    assert offenders == {}


@each_combination
def test_every_python_file_compiles(baked: Baked) -> None:
    for path in baked.path.rglob("*.py"):
        py_compile.compile(str(path), cfile=str(path) + ".check", doraise=True)
        Path(str(path) + ".check").unlink()


@each_combination
def test_answers_are_recorded_for_re_rendering(baked: Baked) -> None:
    recorded = json.loads((baked.path / ".cookiecutter.json").read_text(encoding="utf-8"))

    answers = recorded["cookiecutter"]
    assert answers["database"] == baked.combination.database
    assert answers["primary_key"] == baked.combination.primary_key
    assert answers["sqlalchemy_mode"] == baked.combination.sqlalchemy_mode
    assert answers["project_slug"] == baked.path.name
    assert not [key for key in answers if key.startswith("_")]


@each_combination
def test_env_is_written_with_fresh_secrets(baked: Baked) -> None:
    example = (baked.path / ".env.example").read_text(encoding="utf-8")
    env = (baked.path / ".env").read_text(encoding="utf-8")

    assert ".env" in (baked.path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "SECRET_KEY=changeme" in example
    assert "changeme" not in env
    signing_key = re.search(r"^SECRET_KEY=(.+)$", env, re.MULTILINE)
    assert signing_key is not None
    assert len(signing_key.group(1)) >= 64
    if baked.combination.database == "postgresql":
        password = re.search(r"^POSTGRES_PASSWORD=(.+)$", env, re.MULTILINE)
        assert password is not None
        assert len(password.group(1)) >= 24
        assert f":{password.group(1)}@" in env
        assert password.group(1) != signing_key.group(1)
    for example_line, env_line in zip(example.splitlines(), env.splitlines(), strict=True):
        assert env_line == example_line or "changeme" in example_line


@each_combination
def test_choices_reach_the_code(baked: Baked) -> None:
    pyproject = (baked.path / "pyproject.toml").read_text(encoding="utf-8")
    compose = (baked.path / "docker-compose.yml").read_text(encoding="utf-8")
    mixins = (baked.path / "backend/app/models/mixins.py").read_text(encoding="utf-8")

    is_postgres = baked.combination.database == "postgresql"
    assert ("psycopg" in pyproject) == is_postgres
    assert ("postgres:" in compose) == is_postgres
    if baked.combination.primary_key == "uuid":
        assert "Uuid(as_uuid=True)" in mixins
    else:
        assert 'BigInteger().with_variant(Integer(), "sqlite")' in mixins


@each_combination
def test_the_chosen_sqlalchemy_mode_and_only_it_is_generated(baked: Baked) -> None:
    session = (baked.path / "backend/app/db/session.py").read_text(encoding="utf-8")
    repository = (baked.path / "backend/app/repositories/users.py").read_text(encoding="utf-8")
    pyproject = (baked.path / "pyproject.toml").read_text(encoding="utf-8")
    leftovers = [
        str(path.relative_to(baked.path))
        for path in project_files(baked.path)
        if {".sync", ".async"}.intersection(path.suffixes)
    ]

    is_async = baked.combination.sqlalchemy_mode == "async"
    assert leftovers == []
    assert ("create_async_engine(" in session) == is_async
    assert ("async def create(" in repository) == is_async
    assert ('"aiosqlite' in pyproject) == is_async
    assert ('"sqlalchemy[asyncio]' in pyproject) == is_async


@each_combination
def test_passwords_are_hashed_with_argon2_and_no_placeholder_is_left(baked: Baked) -> None:
    mentions = [
        str(path.relative_to(baked.path))
        for path in project_files(baked.path)
        if re.search(r"placeholder", path.read_text(encoding="utf-8"), re.IGNORECASE)
    ]
    security = (baked.path / "backend/app/core/security.py").read_text(encoding="utf-8")

    assert mentions == []
    assert "Argon2Hasher" in security
    assert not re.search(r"sha256|md5|bcrypt", security, re.IGNORECASE)


def env_values(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


@each_combination
def test_docker_and_compose_run_in_production_with_make_runs_server_options(baked: Baked) -> None:
    dockerfile = (baked.path / "Dockerfile").read_text(encoding="utf-8")
    compose = (baked.path / "docker-compose.yml").read_text(encoding="utf-8")
    makefile = (baked.path / "Makefile").read_text(encoding="utf-8").replace("\\\n\t", " ")
    runtime_stage = dockerfile.split(" AS runtime\n", 1)[1]
    make_options = re.search(r"^SERVER_OPTIONS := (.+)$", makefile, re.MULTILINE)
    commands = {
        "Dockerfile": [line for line in dockerfile.splitlines() if line.startswith("CMD [")][-1],
        "docker-compose.yml": next(line for line in compose.splitlines() if "command:" in line),
        "Makefile": make_options.group(1) if make_options else "",
    }

    assert re.search(r"^\s+ENVIRONMENT=production$", runtime_stage, re.MULTILINE)
    assert "      ENVIRONMENT: ${ENVIRONMENT:-production}\n" in compose
    # The generated .env leaves ENVIRONMENT to each: development for `make run`, production for
    # the image and compose.
    assert "ENVIRONMENT" not in env_values(baked.path / ".env")
    assert re.search(r"^run:.*\n(\t.*\n)*\t.*\$\(SERVER_OPTIONS\)", makefile, re.MULTILINE)
    for name, command in commands.items():
        missing = [option for option in SERVER_OPTIONS if option not in command]
        assert missing == [], name
        assert "--proxy-headers" not in command, name


@each_combination
def test_the_generated_env_passes_productions_checks_as_compose_runs_it(baked: Baked) -> None:
    """`make up` with the .env the generator wrote starts in production, the default there."""
    env = env_values(baked.path / ".env")
    compose = (baked.path / "docker-compose.yml").read_text(encoding="utf-8")
    database_url = re.search(r"^      DATABASE_URL: (.+)$", compose, re.MULTILINE)
    assert database_url is not None
    compose_url = re.sub(r"\$\{(\w+)\}", lambda name: env[name.group(1)], database_url.group(1))
    # `${SMTP_HOST:-mailpit}`: the .env's value, or compose's Mailpit when it is empty.
    smtp_host = re.search(r"^      SMTP_HOST: \$\{SMTP_HOST:-(\w+)\}$", compose, re.MULTILINE)
    assert smtp_host is not None

    result = baked.run(
        str(VENV_BIN / "python"),
        "-c",
        "from app.core.config import get_settings; print(get_settings().ENVIRONMENT)",
        env={
            "ENVIRONMENT": "production",
            "DATABASE_URL": compose_url,
            "SMTP_HOST": env.get("SMTP_HOST") or smtp_host.group(1),
            "PYTHONPATH": "backend",
        },
    )

    assert result.stdout.strip() == "production"
