"""The hooks: bad answers are rejected with one clear line and nothing left behind; every bake
gets secrets of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE_DIR


def run_cookiecutter(output_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run cookiecutter on the template, writing into `output_dir`, with no terminal to ask."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--output-dir",
            str(output_dir),
            str(TEMPLATE_DIR),
            *arguments,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def bake_with(output_dir: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    """Bake without prompts; `answers` are name=value pairs (and options)."""
    return run_cookiecutter(output_dir, "--no-input", *answers)


def assert_refused(
    result: subprocess.CompletedProcess[str], output_dir: Path, *messages: str
) -> None:
    """The hook printed one `ERROR:` line per message, and nothing else; nothing was written.

    Cookiecutter logs its own traceback of the failed hook on stdout; stderr is the hook's.
    """
    lines = result.stderr.splitlines()

    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == len(messages), result.stderr
    for line, message in zip(lines, messages, strict=True):
        assert line.startswith("ERROR: "), result.stderr
        assert message in line, result.stderr
    assert not output_dir.exists() or list(output_dir.iterdir()) == []


def assert_baked(result: subprocess.CompletedProcess[str], project: Path) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert (project / "pyproject.toml").is_file()


@pytest.mark.parametrize(
    ("answers", "messages"),
    [
        (
            "project_slug=My-Service",
            (
                "project_slug 'My-Service' has upper-case letters: use lower case",
                "project_slug 'My-Service' has hyphens: use underscores",
            ),
        ),
        ("project_slug=my-service", ("project_slug 'my-service' has hyphens: use underscores",)),
        (
            "project_slug=MyService",
            ("project_slug 'MyService' has upper-case letters: use lower case",),
        ),
        ("project_slug=9lives", ("project_slug '9lives' is not a lowercase Python identifier",)),
        ("project_slug=class", ("project_slug 'class' is a Python keyword",)),
        ("project_slug=match", ("project_slug 'match' is a Python keyword",)),
        ("project_slug=json", ("project_slug 'json' shadows the standard library module 'json'",)),
        ("project_slug=app", ("project_slug 'app' shadows a package the project uses",)),
        ("project_slug=fastapi", ("project_slug 'fastapi' shadows a package the project uses",)),
        ("project_slug=" + "a" * 41, ("is longer than 40 characters",)),
        ("author_email=not-an-email", ("author_email 'not-an-email' is not an email address",)),
        ("author_email=a@b", ("author_email 'a@b' is not an email address",)),
        (
            "python_version=3.9",
            ("python_version '3.9' is not supported: choose one of 3.11, 3.12, 3.13, 3.14",),
        ),
        ("python_version=three", ("python_version 'three' is not supported",)),
        (
            "project_slug=9lives|author_email=nope",
            ("project_slug '9lives'", "author_email 'nope'"),
        ),
        # An empty name leaves project_slug nothing to be made from: cookiecutter.json's
        # stand-in folder name, not the output directory itself, and one line about the name.
        (
            "project_name=",
            ("project_name is empty, and project_slug is made from it: give the project a name",),
        ),
        ("project_name= ", ("project_name is empty, and project_slug is made from it",)),
        ("project_name= |project_slug=named_by_hand", ("project_name is empty: give",)),
    ],
)
def test_bad_answers_are_rejected_and_nothing_is_written(
    tmp_path: Path, answers: str, messages: tuple[str, ...]
) -> None:
    result = bake_with(tmp_path, *answers.split("|"))

    assert_refused(result, tmp_path, *messages)


def test_an_empty_slug_is_refused_in_one_line_before_anything_is_written(tmp_path: Path) -> None:
    """An empty slug would name the output directory itself: cookiecutter would stop with its
    own `"..." directory already exists` before any hook runs, or, with `-f` or a new output
    directory, let the hook see the output directory as the project. The template's Jinja
    extension (local_extensions.py) refuses the answer first, in the hook's words."""
    new = tmp_path / "new"
    existing = tmp_path / "existing"
    existing.mkdir()

    into_new = bake_with(new, "project_slug=")
    into_existing = bake_with(existing, "project_slug=")
    overwriting = bake_with(existing, "project_slug=", "--overwrite-if-exists")

    assert_refused(into_new, new, "project_slug is empty: give the project a")
    assert not new.exists()
    for result in (into_existing, overwriting):
        assert_refused(result, existing, "project_slug is empty: give the project a")
        assert "already exists" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "answer", ["database=mysql", "primary_key=bigserial", "sqlalchemy_mode=threads"]
)
def test_unknown_choice_values_are_rejected(tmp_path: Path, answer: str) -> None:
    """Cookiecutter refuses these itself, with a traceback of its own, before any hook runs."""
    result = bake_with(tmp_path, answer)

    assert result.returncode != 0
    assert answer.split("=")[1] in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_choice_values_in_a_replay_are_rejected_by_the_hook(tmp_path: Path) -> None:
    """A replay file skips cookiecutter's check of the choices; the hook's catches them."""
    defaults = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    answers = {
        name: value[0] if isinstance(value, list) else value
        for name, value in defaults.items()
        if not name.startswith("_")
    }
    replay = tmp_path / "replay.json"
    output_dir = tmp_path / "output"
    replay.write_text(
        json.dumps(
            {"cookiecutter": {**answers, "project_slug": "my_service", "database": "mysql"}}
        ),
        encoding="utf-8",
    )

    result = run_cookiecutter(output_dir, "--replay-file", str(replay))

    assert_refused(result, output_dir, "database 'mysql' is not a choice")


@pytest.mark.parametrize(
    ("answers", "slug"),
    [
        ((), "my_service"),
        (("project_name=Billing API", "author_email=dev@example.org"), "billing_api"),
        (("project_name=Web-Shop 2",), "web_shop_2"),
        (("project_slug=" + "a" * 40,), "a" * 40),
    ],
)
def test_good_answers_pass_and_print_the_next_steps(
    tmp_path: Path, answers: tuple[str, ...], slug: str
) -> None:
    result = bake_with(tmp_path, *answers)

    assert_baked(result, tmp_path / slug)
    assert f"cd {slug}" in result.stdout
    assert "make run" in result.stdout
    assert "make test" in result.stdout


def env_file(project: Path) -> dict[str, str]:
    """The settings of the project's `.env`, by name."""
    lines = (project / ".env").read_text(encoding="utf-8").splitlines()
    return {
        name: value
        for name, _, value in (line.partition("=") for line in lines)
        if name and not name.startswith("#")
    }


@pytest.mark.parametrize("answers", [(), ("database=postgresql",)], ids=["default", "postgresql"])
def test_every_bake_gets_secrets_of_its_own(tmp_path: Path, answers: tuple[str, ...]) -> None:
    projects = [tmp_path / bake / "my_service" for bake in ("first", "second")]
    for project in projects:
        assert_baked(bake_with(project.parent, *answers), project)

    first, second = (env_file(project) for project in projects)

    assert first["SECRET_KEY"] != second["SECRET_KEY"]
    if answers:
        assert first["POSTGRES_PASSWORD"] != second["POSTGRES_PASSWORD"]
        assert first["DATABASE_URL"] != second["DATABASE_URL"]


def test_a_postgresql_project_says_what_its_database_url_needs(tmp_path: Path) -> None:
    postgresql = bake_with(tmp_path / "pg", "database=postgresql", "project_slug=shop_api")
    sqlite = bake_with(tmp_path / "lite", "database=sqlite", "project_slug=shop_api")

    assert postgresql.returncode == sqlite.returncode == 0
    assert "the role\nshop_api on localhost:5432" in postgresql.stdout
    assert "createuser --createdb --pwprompt shop_api" in postgresql.stdout
    assert "createuser" not in sqlite.stdout
