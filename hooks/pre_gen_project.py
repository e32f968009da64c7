"""Reject bad answers before cookiecutter writes anything.

Cookiecutter renders this file with Jinja before running it; the answers arrive as one JSON
document inside a raw string, so no answer can break the script's syntax.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

ANSWERS: dict[str, object] = json.loads(r"""{{ cookiecutter | jsonify }}""")

SUPPORTED_PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")
CHOICES = {
    "database": ("sqlite", "postgresql"),
    "primary_key": ("uuid", "int"),
    "sqlalchemy_mode": ("sync", "async"),
}
SLUG_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
SLUG_MAX_LENGTH = 40  # leaves room for "_test_gw12" within PostgreSQL's 63-byte database names
# cookiecutter.json's project_slug for an empty project_name. Cookiecutter creates the project
# folder before this hook runs; an empty slug would make that folder the output directory itself.
NAMELESS_SLUG = "_project_name_is_empty_"
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# Packages inside every generated project, and the distributions it depends on: a project
# named after one of them could not install or import itself.
RESERVED_NAMES = frozenset(
    {
        "alembic",
        "app",
        "backend",
        "email_validator",
        "fastapi",
        "psycopg",
        "pwdlib",
        "pydantic",
        "pydantic_settings",
        "sqlalchemy",
        "starlette",
        "tests",
        "uvicorn",
    }
)


def slug_errors(slug: str) -> list[str]:
    """Why `slug` cannot name the project, one line per problem; none when it can."""
    if not slug:
        return ["project_slug is empty: give the project a lowercase Python identifier as its slug"]
    found: list[str] = []
    if slug != slug.lower():
        found.append(f"project_slug {slug!r} has upper-case letters: use lower case")
    if "-" in slug:
        found.append(f"project_slug {slug!r} has hyphens: use underscores")
    if not SLUG_PATTERN.fullmatch(slug.lower().replace("-", "_")):
        found.append(
            f"project_slug {slug!r} is not a lowercase Python identifier: use a-z, 0-9 and _, "
            "starting with a letter"
        )
    if len(slug) > SLUG_MAX_LENGTH:
        found.append(f"project_slug {slug!r} is longer than {SLUG_MAX_LENGTH} characters")
    if found:
        return found
    if keyword.iskeyword(slug) or keyword.issoftkeyword(slug):
        return [f"project_slug {slug!r} is a Python keyword: choose another name"]
    if slug in sys.stdlib_module_names:
        return [f"project_slug {slug!r} shadows the standard library module {slug!r}: rename it"]
    if slug in RESERVED_NAMES:
        return [f"project_slug {slug!r} shadows a package the project uses: choose another name"]
    return []


def name_errors(name: str, slug: str) -> list[str]:
    """Problems with the project's name and slug, one line each."""
    if name.strip():
        return slug_errors(slug)
    if slug == NAMELESS_SLUG:
        return ["project_name is empty, and project_slug is made from it: give the project a name"]
    return ["project_name is empty: give the project a name", *slug_errors(slug)]


def errors(answers: dict[str, object]) -> list[str]:
    """Every problem with the answers, one line each."""
    found = name_errors(str(answers["project_name"]), str(answers["project_slug"]))
    email = str(answers["author_email"])
    if not EMAIL_PATTERN.fullmatch(email):
        found.append(f"author_email {email!r} is not an email address (expected name@example.com)")
    version = str(answers["python_version"])
    if version not in SUPPORTED_PYTHON_VERSIONS:
        allowed = ", ".join(SUPPORTED_PYTHON_VERSIONS)
        found.append(f"python_version {version!r} is not supported: choose one of {allowed}")
    for name, allowed_values in CHOICES.items():
        value = str(answers[name])
        if value not in allowed_values:
            found.append(
                f"{name} {value!r} is not a choice: choose one of {', '.join(allowed_values)}"
            )
    return found


def main() -> int:
    problems = errors(ANSWERS)
    for problem in problems:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
