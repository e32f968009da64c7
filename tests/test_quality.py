"""Every combination passes the generated project's own quality gates."""

from __future__ import annotations

import subprocess

from tests.conftest import TEMPLATE_DIR, VENV_BIN, Baked, each_combination


@each_combination
def test_make_lint_passes(baked: Baked) -> None:
    """ruff check, ruff format --check and mypy --strict, through the project's Makefile."""
    baked.make("lint")


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
