"""The pre-generation hook rejects bad answers with one clear line and leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE_DIR


def bake_with(tmp_path: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--output-dir",
            str(tmp_path),
            str(TEMPLATE_DIR),
            *answers,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            "project_slug=My-Service",
            "project_slug 'My-Service' is not a lowercase Python identifier",
        ),
        ("project_slug=9lives", "project_slug '9lives' is not a lowercase Python identifier"),
        ("project_slug=class", "project_slug 'class' is a Python keyword"),
        ("project_slug=match", "project_slug 'match' is a Python keyword"),
        ("project_slug=json", "project_slug 'json' shadows the standard library module 'json'"),
        ("project_slug=app", "project_slug 'app' shadows a package the project uses"),
        ("project_slug=fastapi", "project_slug 'fastapi' shadows a package the project uses"),
        ("project_slug=" + "a" * 41, "is longer than 40 characters"),
        ("author_email=not-an-email", "author_email 'not-an-email' is not an email address"),
        ("author_email=a@b", "author_email 'a@b' is not an email address"),
        (
            "python_version=3.9",
            "python_version '3.9' is not supported: choose one of 3.11, 3.12, 3.13, 3.14",
        ),
        ("python_version=three", "python_version 'three' is not supported"),
        ("project_name= |project_slug=named_by_hand", "project_name is empty"),
    ],
)
def test_bad_answers_are_rejected_and_nothing_is_written(
    tmp_path: Path, answer: str, message: str
) -> None:
    result = bake_with(tmp_path, *answer.split("|"))

    assert result.returncode != 0
    assert result.stderr.startswith("ERROR: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr.split("ERROR:")[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "answer", ["database=mysql", "primary_key=bigserial", "sqlalchemy_mode=threads"]
)
def test_unknown_choice_values_are_rejected(tmp_path: Path, answer: str) -> None:
    result = bake_with(tmp_path, answer)

    assert result.returncode != 0
    assert answer.split("=")[1] in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_good_answers_pass_and_print_the_next_steps(tmp_path: Path) -> None:
    result = bake_with(tmp_path, "project_name=Billing API", "author_email=dev@example.org")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "billing_api" / "pyproject.toml").is_file()
    assert "cd billing_api" in result.stdout
    assert "make run" in result.stdout
    assert "make test" in result.stdout
