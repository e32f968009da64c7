"""Locked dependencies: every baked project's uv.lock matches its pyproject.toml, pins the
versions these tests run with, and is what `make install` and the Dockerfile install."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import TEMPLATE_DIR, VENV_BIN, Baked, combination_params, each_combination

UV = str(VENV_BIN / "uv")
STALE_LOCK = "make: uv.lock does not match pyproject.toml: run `make lock`"
# A real `make install`, from nothing, in one combination of each database and mode.
INSTALLED_COMBINATIONS = ("sqlite-uuid-sync", "postgresql-int-async")


def locked_here(project: Baked) -> dict[str, str]:
    """The versions uv.lock pins for this machine and Python (the dev extra included), by
    canonical name: what `uv sync --extra dev` installs, the project itself aside."""
    exported = project.run(
        UV,
        "export",
        "--frozen",
        "--extra",
        "dev",
        "--no-emit-project",
        "--no-hashes",
        "--no-header",
        "--no-annotate",
        "--format",
        "requirements.txt",
    ).stdout
    pins: dict[str, str] = {}
    for line in exported.splitlines():
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            [specifier] = requirement.specifier
            assert specifier.operator == "=="
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


@each_combination
def test_the_lock_matches_the_declared_dependencies(baked: Baked) -> None:
    """`uv lock --check`: the lock is the one `uv lock` would write for this pyproject.toml,
    offline, and it names this project (not the default answers' one)."""
    baked.run(UV, "lock", "--check", "--offline")

    lock = tomllib.loads((baked.path / "uv.lock").read_text(encoding="utf-8"))
    [project] = [package for package in lock["package"] if package["source"] == {"editable": "."}]
    assert project["name"] == baked.path.name.replace("_", "-")
    assert sorted(path.name for path in baked.path.glob("uv*.lock")) == ["uv.lock"]


@each_combination
def test_the_tests_run_on_the_locked_versions(baked: Baked) -> None:
    """The template's environment, which stands in for the project's virtualenv in every other
    test, has exactly the versions the project's lock pins for this machine."""
    pins = locked_here(baked)

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    different = {name: (pinned, installed(name)) for name, pinned in pins.items()}
    assert {name: pair for name, pair in different.items() if pair[0] != pair[1]} == {}
    assert {"fastapi", "sqlalchemy", "pytest", "uv"} <= set(pins)


@pytest.mark.parametrize(
    "baked",
    [param for param in combination_params() if param.id in INSTALLED_COMBINATIONS],
    indirect=True,
)
def test_make_install_installs_exactly_the_lock(baked: Baked, tmp_path: Path) -> None:
    """From nothing, with no uv on PATH: `make install` puts uv in the virtualenv from PyPI,
    then installs the locked versions and nothing else (and the project itself)."""
    venv = tmp_path / "venv"
    path = ":".join(
        directory
        for directory in baked.env["PATH"].split(":")
        if not (Path(directory) / "uv").exists()
    )

    baked.run("make", "--no-print-directory", "install", f"VENV={venv}", env={"PATH": path})

    listed = baked.run(
        str(venv / "bin/python"),
        "-c",
        "import importlib.metadata as m\n"
        "for d in m.distributions(): print(d.metadata['Name'], d.version, sep='==')",
    ).stdout
    installed = dict(line.split("==") for line in listed.splitlines())
    installed = {canonicalize_name(name): found for name, found in installed.items()}
    project = canonicalize_name(baked.path.name)
    assert installed.pop(project) == "0.1.0"
    # The installers `python -m venv` seeds the virtualenv with, which uv leaves and `pip
    # freeze` leaves out.
    for seed in ("pip", "setuptools"):
        installed.pop(seed, None)
    assert installed == locked_here(baked)


@pytest.mark.parametrize(
    "baked",
    [param for param in combination_params() if param.id == "sqlite-uuid-sync"],
    indirect=True,
)
def test_a_dependency_changed_without_relocking_stops_make(baked: Baked, tmp_path: Path) -> None:
    """`make test` refuses, in one line, to run on a lock that no longer matches; `make
    deps-upgrade` writes one that does."""
    project = tmp_path / baked.path.name
    shutil.copytree(baked.path, project, ignore=shutil.ignore_patterns(".venv", ".git"))
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert '"ruff>=0.8",' in text
    pyproject.write_text(text.replace('"ruff>=0.8",', '"ruff>=0.9",'), encoding="utf-8")
    # A virtualenv of its own: make installs into it, never into the template's environment;
    # uv on PATH, as on a developer's machine.
    venv = str(tmp_path / "venv")
    path = f"{VENV_BIN}:{baked.env['PATH']}"
    copy = Baked(baked.combination, project, {**baked.env, "PATH": path})

    stopped = copy.make("test", check=False, VENV=venv)

    assert stopped.returncode != 0
    ours, makes = stopped.stderr.splitlines()
    assert ours.startswith(STALE_LOCK)
    assert makes.startswith("make: *** [Makefile:")
    assert makes.endswith("Error 2")
    assert not (Path(venv) / ".installed").exists()
    copy.make("deps-upgrade", VENV=venv)
    copy.run(UV, "lock", "--check", "--offline")


@each_combination
def test_the_dockerfile_installs_from_the_lock(baked: Baked) -> None:
    """Statically (no Docker engine here): the image copies uv.lock and installs it frozen,
    with the uv version the lock pins, and never resolves anything with pip."""
    dockerfile = (baked.path / "Dockerfile").read_text(encoding="utf-8")
    lock = tomllib.loads((baked.path / "uv.lock").read_text(encoding="utf-8"))
    [uv] = [package["version"] for package in lock["package"] if package["name"] == "uv"]

    assert "COPY pyproject.toml uv.lock ./" in dockerfile
    assert re.search(r"^RUN uv sync --frozen --no-install-project$", dockerfile, re.MULTILINE)
    assert re.search(r"^RUN uv sync --frozen --no-editable$", dockerfile, re.MULTILINE)
    assert f"ARG UV_VERSION={uv}\n" in dockerfile
    assert [line for line in dockerfile.splitlines() if "pip install" in line] == [
        'RUN pip install --no-cache-dir "uv==${UV_VERSION}"'
    ]


def test_the_template_has_one_lock_per_database_and_mode_and_one_version_per_package() -> None:
    project = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
    result = subprocess.run(
        [sys.executable, str(TEMPLATE_DIR / "scripts/lock.py"), "constraints"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert sorted(path.name for path in project.glob("uv.*")) == [
        "uv.postgresql-async.lock",
        "uv.postgresql-sync.lock",
        "uv.sqlite-async.lock",
        "uv.sqlite-sync.lock",
    ]
    assert result.returncode == 0, result.stderr
    assert f"fastapi=={version('fastapi')}\n" in result.stdout
