"""`make resource`: what it refuses, the migrations it writes, and the resources served.

Every shared bake has `conftest.SCAFFOLDED` scaffolded into it, so the project's own lint,
suite (with the generated tests), pre-commit and fuzzing cover the scaffolded code in every
combination; this module checks the rest.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import make_url

from tests.conftest import (
    SCAFFOLDED,
    TEMPLATE_DIR,
    Baked,
    Served,
    combination_params,
    database_url_on_server,
    each_combination,
    postgres_server_url,
)
from tests.test_served_accounts import execute, sign_up, tokens_of
from tests.test_served_app import bearer

TEMPLATES = Path("backend/scaffold/templates")
# Refusals are the scaffold's own logic: two combinations that differ in every answer.
REFUSAL_COMBINATIONS = ("sqlite-uuid-sync", "postgresql-int-async")
# make's own line after ours, for a target that exits 2.
MAKE_ERROR = re.compile(r"make: \*\*\* \[Makefile:\d+: resource\] Error 2")
NOTE = {
    "title": "Buy milk",
    "body": None,
    "done": False,
    "due": "2026-12-24",
    "price": "3.5",
    "rank": 1,
    "code": "milk",
    "starts_at": "2026-12-24T09:30:00+01:00",
    "ref": "2f1d7c64-3c1f-4f53-9a55-5d8f3b1b6a10",
    "label": None,
}
# Each refusal: the make variables, and what its one line says.
REFUSALS: list[tuple[dict[str, str], str]] = [
    ({"name": "Note", "fields": "title:str"}, "backend/app/models/note.py exists already"),
    ({"name": "Widget", "fields": "title:str"}, "backend/tests/test_widgets_api.py exists already"),
    ({"name": "None", "fields": "title:str"}, "name `None` is a Python keyword"),
    ({"name": "2Notes", "fields": "title:str"}, "name `2Notes` is not a Python identifier"),
    ({"name": "Note-Book", "fields": "title:str"}, "is not a Python identifier"),
    ({"name": "note_book", "fields": "title:str"}, "must be CamelCase, like NoteBook"),
    ({"name": "Json", "fields": "title:str"}, "`json` would shadow the module or builtin"),
    ({"name": "Test", "fields": "title:str"}, "`tests` would shadow the module or builtin"),
    ({"name": "Widget", "fields": "title:string"}, "field `title` has an unknown type `string`"),
    ({"name": "Widget", "fields": "title:str title:text"}, "field `title` is given twice"),
    ({"name": "Widget", "fields": "id:int"}, "field name `id` is reserved"),
    ({"name": "Widget", "fields": "owner_id:int"}, "field name `owner_id` is reserved"),
    ({"name": "Widget", "fields": "created_at:datetime"}, "field name `created_at` is reserved"),
    ({"name": "Widget", "fields": "updated_at:datetime"}, "field name `updated_at` is reserved"),
    ({"name": "Widget", "fields": "class:str"}, "field name `class` is a Python keyword"),
    ({"name": "Widget", "fields": "json:str"}, "is taken by Python, pydantic or SQLAlchemy"),
    ({"name": "Widget", "fields": "title"}, "field `title` is not NAME:TYPE"),
    ({"name": "Widget", "fields": "body:text!"}, "field `body` cannot be unique"),
    ({"name": "Widget", "fields": "due:date date:date"}, "`date` would hide the `date`"),
    ({"name": "Widget", "fields": "title:str??"}, "repeats a modifier"),
]


def refusal_params() -> list[Any]:
    return [param for param in combination_params() if param.id in REFUSAL_COMBINATIONS]


def git_copy(baked: Baked, directory: Path) -> Baked:
    """A copy of the baked project in a git repository of its own, everything committed."""
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".mypy_cache", ".ruff_cache")
    shutil.copytree(baked.path, directory, ignore=ignore)
    copy = Baked(baked.combination, directory, dict(baked.env))
    copy.run("git", "init", "--quiet", "--initial-branch=main")
    copy.run("git", "add", "--all")
    copy.run("git", "commit", "--quiet", "--message", "Scaffolded")
    return copy


@pytest.mark.parametrize("baked", refusal_params(), indirect=True)
def test_every_refusal_is_one_line_and_leaves_the_tree_as_it_was(
    baked: Baked, tmp_path: Path
) -> None:
    project = git_copy(baked, tmp_path / "project")
    (project.path / "backend/tests/test_widgets_api.py").write_text('"""Mine."""\n')
    project.run("git", "add", "--all")
    project.run("git", "commit", "--quiet", "--message", "A file of my own")
    problems = []

    for variables, expected in REFUSALS:
        result = project.make("resource", check=False, **variables)
        lines = result.stderr.splitlines()
        status = project.run("git", "status", "--porcelain").stdout
        if not (
            result.returncode == 2
            and len(lines) == 2
            and lines[0].startswith("make resource: ")
            and expected in lines[0]
            and MAKE_ERROR.fullmatch(lines[1])
            and status == ""
        ):
            problems.append((variables, result.returncode, result.stderr, status))

    assert problems == []


@pytest.mark.parametrize("baked", refusal_params(), indirect=True)
def test_models_ahead_of_the_migrations_stop_it_before_it_writes(
    baked: Baked, tmp_path: Path
) -> None:
    project = git_copy(baked, tmp_path / "project")
    model = project.path / "backend/app/models/category.py"
    model.write_text(
        model.read_text().replace(
            "    rank:", "    motto: Mapped[str | None] = mapped_column(String(80))\n    rank:"
        )
    )
    project.run("git", "commit", "--quiet", "--all", "--message", "A column, not migrated")

    result = project.make("resource", check=False, name="Widget", fields="title:str")

    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        "make resource: the models differ from the migrations already: run `make db-revision`"
        " first (nothing was written)"
    )
    assert project.run("git", "status", "--porcelain").stdout == ""


@pytest.mark.parametrize("baked", refusal_params(), indirect=True)
def test_a_failure_after_writing_takes_every_change_back(baked: Baked, tmp_path: Path) -> None:
    project = git_copy(baked, tmp_path / "project")
    script = project.path / "backend/alembic/script.py.mako"
    script.write_text(script.read_text() + "${no_such_name}\n")
    project.run("git", "commit", "--quiet", "--all", "--message", "A revision template that fails")

    result = project.make("resource", check=False, name="Widget", fields="title:str")

    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(
        "make resource: alembic revision --autogenerate failed: "
    )
    assert project.run("git", "status", "--porcelain").stdout == ""


@pytest.mark.parametrize("baked", refusal_params(), indirect=True)
def test_a_missing_name_or_fields_gets_the_usage_line(baked: Baked) -> None:
    for variables in ({"name": "Widget"}, {"fields": "title:str"}):
        result = baked.make("resource", check=False, **variables)

        assert result.returncode == 2
        assert result.stderr.splitlines()[0].startswith("usage: make resource name=Note fields=")


@each_combination
def test_the_scaffold_templates_are_copied_as_they_are(baked: Baked) -> None:
    source = TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / TEMPLATES
    mode = baked.combination.sqlalchemy_mode
    expected = {
        path.name.replace(f".{mode}.", "."): path.read_text()
        for path in source.iterdir()
        if not any(f".{other}." in path.name for other in ("sync", "async") if other != mode)
    }

    copied = {path.name: path.read_text() for path in (baked.path / TEMPLATES).iterdir()}

    assert copied == expected


@each_combination
def test_scaffolded_migrations_upgrade_and_match_the_models(baked: Baked, tmp_path: Path) -> None:
    if baked.combination.database == "postgresql":
        server = postgres_server_url()
        assert server is not None
        # Dropped with the bake's other databases (the `bakes` fixture).
        name = f"{make_url(baked.env['TEST_DATABASE_URL']).database}_resources"
        url = database_url_on_server(server, name)
    else:
        url = f"sqlite:///{tmp_path / 'resources.db'}"
    revisions = sorted((baked.path / "backend/alembic/versions").glob("2*_create_the_*_table.py"))

    upgraded = baked.run("make", "--no-print-directory", "db-upgrade", env={"DATABASE_URL": url})
    checked = baked.run("make", "--no-print-directory", "db-check", env={"DATABASE_URL": url})

    assert [path.name.split("_", 2)[2] for path in revisions] == [
        "create_the_notes_table.py",
        "create_the_categories_table.py",
    ]
    assert all(re.fullmatch(r"\d{8}_\d{6}_.*", path.name) for path in revisions)
    assert "Running upgrade" in upgraded.stderr
    assert "No new upgrade operations detected." in checked.stdout + checked.stderr


@each_combination
def test_scaffolded_resources_serve_their_owners_and_hide_the_rest(served: Served) -> None:
    assert [resource["name"] for resource in SCAFFOLDED] == ["Note", "Category"]
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        alice, bob, admin = (sign_up(client) for _ in range(3))
        promote = "UPDATE users SET is_superuser = true WHERE email = :email"
        execute(served, promote, email=admin["email"])
        as_alice, as_bob, as_admin = (
            bearer(tokens_of(client, user["email"])) for user in (alice, bob, admin)
        )
        created = client.post("/notes", json=NOTE, headers=as_alice)
        note = f"/notes/{created.json()['id']}"
        bobs = client.post("/notes", json=NOTE | {"rank": 2, "code": "eggs"}, headers=as_bob)
        taken = client.post("/notes", json=NOTE | {"rank": 3}, headers=as_bob)
        listed = client.get("/notes", params={"sort": "-rank"}, headers=as_alice)
        updated = client.patch(note, json={"done": True, "body": "2 litres"}, headers=as_alice)
        read = client.get(note, headers=as_alice)
        strangers = [
            client.get(note, headers=as_bob),
            client.patch(note, json={"done": False}, headers=as_bob),
            client.delete(note, headers=as_bob),
        ]
        everyones = client.get("/notes", params={"sort": "rank"}, headers=as_admin)
        deleted = client.delete(note, headers=as_alice)
        gone = client.get(note, headers=as_alice)
        anonymous = client.get("/notes")

        category = client.post("/categories", json={"name": "Food"}, headers=as_admin)
        refused = client.post("/categories", json={"name": "Drink"}, headers=as_bob)
        categories = client.get("/categories", headers=as_bob)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["owner_id"] == alice["id"]
    assert (body["price"], body["starts_at"], body["label"]) == (
        "3.50",
        "2026-12-24T08:30:00Z",
        None,
    )
    assert bobs.status_code == 201, bobs.text
    assert (taken.status_code, taken.json()["code"]) == (409, "note_conflict")
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    assert listed.json()["total"] == 1
    assert updated.status_code == 200, updated.text
    assert read.json() == updated.json()
    assert (read.json()["done"], read.json()["body"], read.json()["title"]) == (
        True,
        "2 litres",
        "Buy milk",
    )
    not_found = {"detail": "Note not found.", "code": "note_not_found"}
    assert [(answer.status_code, answer.json()) for answer in strangers] == [(404, not_found)] * 3
    assert [item["owner_id"] for item in everyones.json()["items"]] == [alice["id"], bob["id"]]
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert anonymous.status_code == 401
    assert category.status_code == 201, category.text
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert [item["name"] for item in categories.json()["items"]] == ["Food"]
