"""One list of dependencies: what a baked project imports it declares, and the template's own
environment (which stands in for every baked project's virtualenv in these tests) asks for
the same requirements."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import TEMPLATE_DIR, Baked, each_combination

# The project's own packages; `alembic` is the library (the project's folder is not imported).
FIRST_PARTY = frozenset({"app", "scaffold", "tests"})


def declared(pyproject: Path) -> dict[str, Requirement]:
    """The project's runtime and development requirements, by canonical name."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *project.get("optional-dependencies", {}).get("dev", [])]
    return {canonicalize_name(req.name): req for req in map(Requirement, lines)}


def imported_modules(root: Path) -> set[str]:
    """The top-level modules the project's Python files import."""
    modules: set[str] = set()
    for path in root.rglob("*.py"):
        if {".venv", ".git"}.intersection(path.relative_to(root).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - FIRST_PARTY - set(sys.stdlib_module_names) - {"__future__"}


def template_requirements() -> dict[str, Requirement]:
    pyproject = tomllib.loads((TEMPLATE_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    lines = pyproject["dependency-groups"]["dev"]
    return {canonicalize_name(req.name): req for req in map(Requirement, lines)}


@each_combination
def test_every_import_is_declared_by_the_project(baked: Baked) -> None:
    requirements = declared(baked.path / "pyproject.toml")
    distributions = packages_distributions()

    undeclared: dict[str, list[str]] = {}
    for module in sorted(imported_modules(baked.path)):
        providers = distributions.get(module, [])
        if not {canonicalize_name(name) for name in providers} & set(requirements):
            undeclared[module] = providers

    assert undeclared == {}


@each_combination
def test_the_template_environment_asks_for_what_the_project_asks_for(baked: Baked) -> None:
    template = template_requirements()

    disagreements: dict[str, str] = {}
    for name, requirement in declared(baked.path / "pyproject.toml").items():
        ours = template.get(name)
        if ours is None:
            disagreements[name] = f"missing from the template's dev group ({requirement})"
        elif ours.specifier != requirement.specifier or not requirement.extras <= ours.extras:
            disagreements[name] = f"project: {requirement}, template: {ours}"
        else:
            try:
                installed = version(requirement.name)
            except PackageNotFoundError:
                disagreements[name] = "not installed in the template's environment"
            else:
                if not requirement.specifier.contains(installed, prereleases=True):
                    disagreements[name] = f"installed {installed} does not satisfy {requirement}"

    assert disagreements == {}
