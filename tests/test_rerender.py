"""A project re-rendered from its recorded answers is identical to the original."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEMPLATE_DIR, Baked, each_combination

# .env holds freshly generated secrets: different on every bake by design.
NOT_COMPARED = {
    ".env",
    ".git",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "__pycache__",
}


def differences(left: Path, right: Path) -> list[str]:
    comparison = filecmp.dircmp(left, right, ignore=sorted(NOT_COMPARED))
    found: list[str] = []

    def collect(node: filecmp.dircmp[str], prefix: str) -> None:
        found.extend(f"{prefix}{name}" for name in node.left_only + node.right_only)
        _, mismatch, errors = filecmp.cmpfiles(
            node.left, node.right, node.common_files, shallow=False
        )
        found.extend(f"{prefix}{name}" for name in mismatch + errors)
        for name, child in node.subdirs.items():
            collect(child, f"{prefix}{name}/")

    collect(comparison, "")
    return found


@each_combination
def test_replaying_the_recorded_answers_reproduces_the_project(
    baked: Baked, tmp_path: Path
) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--replay-file",
            str(baked.path / ".cookiecutter.json"),
            "--output-dir",
            str(tmp_path),
            str(TEMPLATE_DIR),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )

    # As cookiecutter wrote it: the shared bake has resources scaffolded since.
    assert baked.pristine is not None
    assert differences(baked.pristine, tmp_path / baked.path.name) == []
