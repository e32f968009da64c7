"""A project made with cruft takes a new template release on top of its own changes.

The template is what is on disk (tracked and new files), committed to a fresh git repository;
the test then releases a next version there, as the maintainers would, and updates the project.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from cookiecutter.hooks import run_hook_from_repo_dir

from tests.conftest import TEMPLATE_DIR, VENV_BIN, Baked, combination_params

CRUFT = str(VENV_BIN / "cruft")
PROJECT = "{{cookiecutter.project_slug}}"
# The user's changes: a column with its migration, and the README's opening paragraph.
NICKNAME_FIELD = "    nickname: Mapped[str | None] = mapped_column(String(50))\n"
USER_DESCRIPTION = "Invoices and refunds for the shop; the ledger lives elsewhere.\n"
# The template's next release: a column with its migration, in the model the user also changed.
DISPLAY_NAME_FIELD = "    display_name: Mapped[str | None] = mapped_column(String(100))\n"
IGNORED_EDITOR_FILES = "\n# Editors\n.idea/\n.vscode/\n"
# And a dependency, with the locks made again: one the project already has indirectly, so that
# the versions the tests run on stay the same.
RELEASED_DEPENDENCY = '    "idna>=3.7",\n'

TEMPLATE_REVISION = '''"""Add the users' display name.

Revision ID: {number}
Revises: {previous}
Create Date: 2026-12-01 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "{number}"
down_revision: str | None = "{previous}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("display_name")
'''
CONFLICT_MARKER = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)
REVISION_ID = re.compile(r'^revision: str = "([^"]+)"$', re.MULTILINE)


def commit_everything(runner: Baked, repository: Path, message: str) -> None:
    runner.run("git", "add", "--all", cwd=repository)
    runner.run("git", "commit", "--quiet", "--message", message, cwd=repository)


def copy_of_the_template(runner: Baked, destination: Path) -> Path:
    """The template's files as they are on disk, committed to a new repository at `destination`."""
    listed = runner.run(
        "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=TEMPLATE_DIR
    )
    for name in filter(None, listed.stdout.split("\0")):
        source = TEMPLATE_DIR / name
        if source.is_file():  # a tracked file deleted from the disk is listed too
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    runner.run("git", "init", "--quiet", "--initial-branch=main", cwd=destination)
    commit_everything(runner, destination, "The template as it is")
    return destination


def release_next_version(runner: Baked, template: Path) -> str:
    """Commit a template release: a new version, a column and its revision, a .gitignore entry,
    a dependency and the locks made again with it.

    Returns the new version.
    """
    settings = template / "cookiecutter.json"
    current = json.loads(settings.read_text(encoding="utf-8"))["_template_version"]
    major, minor, _ = current.split(".")
    version = f"{major}.{int(minor) + 1}.0"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            f'"_template_version": "{current}"', f'"_template_version": "{version}"'
        ),
        encoding="utf-8",
    )

    model = template / PROJECT / "backend/app/models/user.py"
    lines = model.read_text(encoding="utf-8").splitlines(keepends=True)
    [superuser] = [n for n, line in enumerate(lines) if line.startswith("    is_superuser:")]
    lines.insert(superuser + 1, DISPLAY_NAME_FIELD)
    model.write_text("".join(lines), encoding="utf-8")

    versions = template / PROJECT / "backend/alembic/versions"
    newest = max(int(path.name[:4]) for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    revision = TEMPLATE_REVISION.format(number=f"{newest + 1:04d}", previous=f"{newest:04d}")
    (versions / f"{newest + 1:04d}_add_display_name.py").write_text(revision, encoding="utf-8")

    with (template / PROJECT / ".gitignore").open("a", encoding="utf-8") as gitignore:
        gitignore.write(IGNORED_EDITOR_FILES)

    pyproject = template / PROJECT / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    anchor = '    "httptools>=0.6.4",\n'
    assert anchor in text
    pyproject.write_text(text.replace(anchor, anchor + RELEASED_DEPENDENCY), encoding="utf-8")
    runner.run(str(VENV_BIN / "python"), "scripts/lock.py", "lock", cwd=template)

    commit_everything(runner, template, f"Release {version}")
    return version


def change_as_a_user(project: Baked) -> Path:
    """Add a column and its migration, and rewrite the README's description; commit.

    Returns the new revision.
    """
    model = project.path / "backend/app/models/user.py"
    source = model.read_text(encoding="utf-8")
    anchor = "    is_active: Mapped[bool]"
    assert anchor in source
    model.write_text(source.replace(anchor, NICKNAME_FIELD + anchor), encoding="utf-8")
    versions = project.path / "backend/alembic/versions"
    before = set(versions.glob("*.py"))
    project.make("db-upgrade")
    project.make("db-revision", msg="add nickname")
    [revision] = set(versions.glob("*.py")) - before

    readme = project.path / "README.md"
    lines = readme.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1] == "\n"
    lines[2] = USER_DESCRIPTION
    readme.write_text("".join(lines), encoding="utf-8")

    commit_everything(project, project.path, "Nicknames; our own description")
    return revision


def changed_files(project: Baked) -> set[str]:
    """Files that differ from the last commit: staged, unstaged or new."""
    status = project.run("git", "status", "--porcelain", "--untracked-files=all")
    return {line[3:] for line in status.stdout.splitlines()}


@pytest.mark.parametrize(
    "baked",
    [param for param in combination_params() if param.id == "sqlite-uuid-sync"],
    indirect=True,
)
def test_a_template_release_merges_into_a_project_with_its_own_changes(
    baked: Baked, tmp_path: Path
) -> None:
    # The baked project's stand-in virtualenv (the template's tools) serves this project too:
    # touched after cruft writes pyproject.toml, so that make finds it up to date.
    installed = Path(baked.env["VENV"]) / ".installed"
    template = copy_of_the_template(baked, tmp_path / "template")
    answers = json.dumps(asdict(baked.combination))
    baked.run(
        CRUFT,
        "create",
        "--no-input",
        "--default-config",
        "--extra-context",
        answers,
        "--output-dir",
        str(tmp_path / "projects"),
        str(template),
        cwd=tmp_path,
    )
    project = Baked(baked.combination, tmp_path / "projects/my_service", dict(baked.env))
    installed.touch()
    project.run("git", "init", "--quiet", "--initial-branch=main")
    commit_everything(project, project.path, "Generated with cruft")
    own_revision = change_as_a_user(project)

    version = release_next_version(baked, template)
    assert project.run(CRUFT, "check", check=False).returncode != 0
    project.run(CRUFT, "update", "--skip-apply-ask", "--allow-untracked-files")
    installed.touch()

    # Only what the release changed, merged with the user's changes: no conflict anywhere.
    versions = project.path / "backend/alembic/versions"
    [template_revision] = versions.glob("*_add_display_name.py")
    assert changed_files(project) == {
        # The template commit the project is at, as `.cruft.json` records it too.
        ".cookiecutter.json",
        ".cruft.json",
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "uv.lock",
        "backend/app/models/user.py",
        f"backend/alembic/versions/{template_revision.name}",
    }
    assert sorted(project.path.rglob("*.rej")) == []
    assert project.run("git", "ls-files", "--unmerged").stdout == ""
    tracked = project.run("git", "ls-files", "-z").stdout.split("\0")
    for name in filter(None, tracked):
        text = (project.path / name).read_text(encoding="utf-8", errors="replace")
        assert not CONFLICT_MARKER.search(text), f"conflict markers in {name}"
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    model = (project.path / "backend/app/models/user.py").read_text(encoding="utf-8")
    assert USER_DESCRIPTION in readme
    assert version in readme
    assert NICKNAME_FIELD in model
    assert DISPLAY_NAME_FIELD in model
    assert own_revision.is_file()
    assert ".idea/" in (project.path / ".gitignore").read_text(encoding="utf-8")
    assert RELEASED_DEPENDENCY in (project.path / "pyproject.toml").read_text(encoding="utf-8")
    project.run(str(VENV_BIN / "uv"), "lock", "--check", "--offline")
    ids = [
        match.group(1)
        for path in versions.glob("*.py")
        if (match := REVISION_ID.search(path.read_text(encoding="utf-8")))
    ]
    assert len(ids) == len(set(ids)), f"revision ids clash: {sorted(ids)}"
    project.run(CRUFT, "check")
    cruft_state = json.loads((project.path / ".cruft.json").read_text(encoding="utf-8"))
    answers = json.loads((project.path / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert answers["template_commit"] == cruft_state["commit"]

    # The post-generation hook, run again on the updated project, changes nothing.
    env_file = (project.path / ".env").read_bytes()
    before_hook = changed_files(project)
    context = json.loads((project.path / ".cruft.json").read_text(encoding="utf-8"))["context"]
    run_hook_from_repo_dir(template, "post_gen_project", project.path, context, False)
    env_kept = (project.path / ".env").read_bytes() == env_file
    assert env_kept, "the hook replaced .env: the project's secrets are lost"
    assert changed_files(project) == before_hook

    # The template's revision and the user's share a parent: two heads, until merged.
    unmerged = project.make("db-upgrade", check=False)
    assert unmerged.returncode != 0
    assert "Multiple head revisions" in unmerged.stdout + unmerged.stderr
    project.make("db-merge")
    [merge] = versions.glob("*_merge_heads.py")
    assert re.fullmatch(r"\d{8}_\d{6}_merge_heads\.py", merge.name)
    project.make("db-upgrade")
    project.make("db-check")
    project.make("lint")
    project.make("test")


@pytest.mark.parametrize(
    "baked",
    [param for param in combination_params() if param.id == "sqlite-uuid-sync"],
    indirect=True,
)
def test_the_documented_link_works_against_a_plain_clone(baked: Baked, tmp_path: Path) -> None:
    """A project made with plain cookiecutter from a clone, linked by the README's command."""
    clone = tmp_path / "clone"
    source = copy_of_the_template(baked, tmp_path / "template")
    baked.run("git", "clone", "--quiet", str(source), str(clone), cwd=tmp_path)
    answers = [f"{name}={value}" for name, value in asdict(baked.combination).items()]
    baked.run(
        str(VENV_BIN / "cookiecutter"),
        "--no-input",
        "--output-dir",
        str(tmp_path / "projects"),
        str(clone),
        *answers,
        cwd=tmp_path,
    )
    project = Baked(baked.combination, tmp_path / "projects/my_service", dict(baked.env))
    project.run("git", "init", "--quiet", "--initial-branch=main")
    commit_everything(project, project.path, "Generated with cookiecutter")
    readme = (project.path / "README.md").read_text(encoding="utf-8")
    [link] = [
        block
        for block in re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)
        if "cruft link" in block
    ]

    path = f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"  # cruft, as `pipx install` puts it
    project.run(
        "bash", "-euo", "pipefail", "-c", link.replace("<template>", str(clone)), env={"PATH": path}
    )

    commit = baked.run("git", "rev-parse", "HEAD", cwd=clone).stdout.strip()
    linked = json.loads((project.path / ".cruft.json").read_text(encoding="utf-8"))
    assert linked["commit"] == commit
    assert linked["template"] == str(clone)
    assert linked["context"]["cookiecutter"]["sqlalchemy_mode"] == baked.combination.sqlalchemy_mode
    project.run(CRUFT, "check")
    assert project.run(CRUFT, "diff", "--exit-code", check=False).returncode == 0
