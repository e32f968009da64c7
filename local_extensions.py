"""Jinja extensions of this template (`_extensions` in cookiecutter.json, found by cookiecutter
on the template's own path): the checks that must run before cookiecutter creates the project's
folder, which it does before any hook runs."""

from __future__ import annotations

from jinja2 import Environment
from jinja2.ext import Extension

EMPTY_SLUG = "project_slug is empty: give the project a lowercase Python identifier as its slug"


def required_slug(slug: object) -> object:
    """The slug, unless it is empty: an empty one would name the output directory itself, which
    exists, and cookiecutter would stop with `"..." directory already exists`. Every other rule
    for the slug is the pre-generation hook's (hooks/pre_gen_project.py), as is a replay file's
    slug: cookiecutter renders this for such a file without its answers (None)."""
    if str(slug) == "":
        # One line on stderr, as the hook writes its own; cookiecutter and cruft stop there.
        raise SystemExit(f"ERROR: {EMPTY_SLUG}")
    return slug


class AnswerChecks(Extension):
    """The `required_slug` filter, which cookiecutter.json applies to the answer."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["required_slug"] = required_slug
