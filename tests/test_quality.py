"""Every combination passes the generated project's own quality gates."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import TEMPLATE_DIR, VENV_BIN, Baked, each_combination
from tests.test_hooks import bake_with


@each_combination
def test_make_lint_passes(baked: Baked) -> None:
    """ruff check, ruff format --check and mypy --strict, through the project's Makefile."""
    baked.make("lint")


def test_pre_commit_outside_a_git_repository_says_so_in_one_line(tmp_path: Path) -> None:
    assert bake_with(tmp_path).returncode == 0
    project = tmp_path / "my_service"
    result = subprocess.run(
        ["make", "--no-print-directory", "precommit"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)},
    )

    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == (
        "make precommit: not a git repository: run `git init` (and `git add .`) first"
    )
    # Refused before anything was installed.
    assert not (project / ".venv").exists()


@each_combination
def test_pre_commit_passes_on_a_fresh_repository(baked: Baked) -> None:
    baked.run("git", "init", "--quiet", "--initial-branch=main")
    baked.run("git", "add", "--all")
    baked.run("git", "commit", "--quiet", "--message", "Initial commit")

    baked.make("precommit")
    assert baked.run("git", "status", "--porcelain").stdout == ""


@each_combination
def test_dockerfile_passes_hadolint(baked: Baked) -> None:
    baked.run(str(VENV_BIN / "hadolint"), "Dockerfile")


@each_combination
def test_compose_file_matches_the_compose_specification(baked: Baked) -> None:
    baked.run(
        str(VENV_BIN / "check-jsonschema"),
        "--builtin-schema",
        "vendor.compose-spec",
        "docker-compose.yml",
    )


@each_combination
def test_workflow_matches_the_github_schema_and_passes_zizmor(baked: Baked) -> None:
    workflow = ".github/workflows/ci.yml"
    baked.run(
        str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", workflow
    )
    baked.run(str(VENV_BIN / "zizmor"), "--offline", workflow)


@each_combination
def test_dependabot_config_matches_its_schema(baked: Baked) -> None:
    config = ".github/dependabot.yml"
    baked.run(str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", config)
    text = (baked.path / config).read_text(encoding="utf-8")
    assert "package-ecosystem: uv" in text
    assert "package-ecosystem: github-actions" in text


def test_the_template_workflow_matches_the_github_schema_and_passes_zizmor() -> None:
    workflow = str(TEMPLATE_DIR / ".github/workflows/ci.yml")
    for command in (
        [
            str(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            workflow,
        ],
        [str(VENV_BIN / "zizmor"), "--offline", workflow],
    ):
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        assert result.returncode == 0, f"{command[0]}\n{result.stdout}\n{result.stderr}"
