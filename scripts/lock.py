"""The generated projects' `uv.lock`, made from the template's one list of dependencies.

    python scripts/lock.py lock [--upgrade]   # `make lock`: re-lock every database and mode
    python scripts/lock.py constraints        # the locked versions, as pip constraints

A project's dependencies differ by database (psycopg) and mode (aiosqlite, SQLAlchemy's asyncio
extra), so the template holds one lock per pair, `uv.<database>-<mode>.lock`, and the
post-generation hook keeps the project's as `uv.lock`. `lock` bakes each pair with the default
answers and runs `uv lock` in it: uv keeps every version the previous lock pins that still fits
pyproject.toml (`--upgrade` takes the newest instead), and the lock is written back with the
project's name left to cookiecutter; the Dockerfile's `UV_VERSION` follows the locked uv.
`constraints` prints every version the locks pin, which
`make install` holds the template's environment to: the baked projects' tests run on exactly
the versions their locks give a user.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
PROJECT_DIR = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
DATABASES = ("sqlite", "postgresql")
MODES = ("sync", "async")
# The project itself in a lock baked with the default answers, and what a bake renders it from.
BAKED_NAME = 'name = "my-service"'
# The uv the Docker image installs to read uv.lock: the version the locks pin.
DOCKERFILE = PROJECT_DIR / "Dockerfile"
UV_VERSION_ARG = re.compile(r"^ARG UV_VERSION=.*$", re.MULTILINE)
TEMPLATE_NAME = "name = \"{{ cookiecutter.project_slug | replace('_', '-') }}\""


def lock_path(database: str, mode: str) -> Path:
    return PROJECT_DIR / f"uv.{database}-{mode}.lock"


def lock(*, upgrade: bool) -> None:
    """Bake each database and mode, lock it with uv, and keep the lock in the template."""
    # Imported here: `constraints` runs before the environment, cookiecutter included, exists.
    from cookiecutter.main import cookiecutter

    uv = Path(sys.executable).parent / "uv"
    with tempfile.TemporaryDirectory(prefix="lock-") as directory:
        for database in DATABASES:
            for mode in MODES:
                project = Path(
                    cookiecutter(
                        str(TEMPLATE_DIR),
                        no_input=True,
                        output_dir=str(Path(directory) / f"{database}-{mode}"),
                        extra_context={"database": database, "sqlalchemy_mode": mode},
                    )
                )
                command = [str(uv), "lock", *(["--upgrade"] if upgrade else [])]
                subprocess.run(command, cwd=project, check=True)  # noqa: S603 - uv, our arguments
                locked = (project / "uv.lock").read_text(encoding="utf-8")
                if locked.count(BAKED_NAME) != 1:
                    sys.exit(f"{database}-{mode}: expected one {BAKED_NAME!r} in uv.lock")
                lock_path(database, mode).write_text(
                    locked.replace(BAKED_NAME, TEMPLATE_NAME), encoding="utf-8"
                )
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    pinned = f"ARG UV_VERSION={pinned_versions()['uv']}"
    DOCKERFILE.write_text(UV_VERSION_ARG.sub(pinned, dockerfile, count=1), encoding="utf-8")


def pinned_versions() -> dict[str, str]:
    """Every package the locks pin, but the project itself; one version each, or exit."""
    versions: dict[str, set[str]] = {}
    for database in DATABASES:
        for mode in MODES:
            packages = tomllib.loads(lock_path(database, mode).read_text(encoding="utf-8"))
            for package in packages["package"]:
                if package.get("source", {}).get("editable") == ".":
                    continue
                versions.setdefault(package["name"], set()).add(package["version"])
    split = {name: sorted(found) for name, found in versions.items() if len(found) > 1}
    if split:
        sys.exit(f"the locks pin different versions of {split}: run `make lock upgrade=1`")
    return {name: found.pop() for name, found in sorted(versions.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lock_command = commands.add_parser("lock", help="re-lock every database and mode")
    lock_command.add_argument("--upgrade", action="store_true", help="the newest versions")
    commands.add_parser("constraints", help="the locked versions, as pip constraints")
    arguments = parser.parse_args()
    if arguments.command == "lock":
        lock(upgrade=arguments.upgrade)
    else:
        sys.stdout.write("".join(f"{name}=={v}\n" for name, v in pinned_versions().items()))


if __name__ == "__main__":
    main()
