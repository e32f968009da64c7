"""Scaffold a resource: check its description, render `templates/`, register the model and the
router, and autogenerate the migration on a database of its own.

Nothing is written unless every check passes, and a failure after writing (the migration) takes
every change back: the tree is left as it was.
"""

import ast
import builtins
import keyword
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel
from sqlalchemy.orm import DeclarativeBase

from tests.database import create_test_database, database_beside, remove_test_database

BACKEND = Path(__file__).resolve().parents[1]
PROJECT_ROOT = BACKEND.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
MODELS_INIT = BACKEND / "app/models/__init__.py"
ROUTER = BACKEND / "app/api/router.py"
VERSIONS = BACKEND / "alembic/versions"
FUZZING = PROJECT_ROOT / "schemathesis.toml"

FIELD_TYPES = ("str", "text", "int", "bool", "decimal", "date", "datetime", "uuid")
# Every resource has these columns.
RESERVED_FIELDS = ("id", "owner_id", "created_at", "updated_at")
# A unique index cannot hold long text on PostgreSQL, and a unique bool allows two rows.
NEVER_UNIQUE = {"text": "long text cannot be unique: use str!", "bool": "a bool has two values"}
# Types the generated models and schemas annotate fields with: a field of that name would hide
# the type from the fields after it in the class.
ANNOTATION_BUILTINS = frozenset({"bool", "dict", "int", "list", "str", "tuple"})
# Attributes of pydantic's and SQLAlchemy's base classes, which a field would hide.
BASE_ATTRIBUTES = frozenset(dir(BaseModel)) | frozenset(dir(DeclarativeBase))
# Top-level packages of the project, which a module of the same name would be mistaken for.
PROJECT_PACKAGES = frozenset({"alembic", "app", "scaffold", "tests"})
# The project's line length (pyproject.toml, ruff).
LINE_LIMIT = 100
# PostgreSQL cuts identifiers at 63 bytes: `uq_<table>_<column>` must fit.
MAX_TABLE_NAME = 28
MAX_FIELD_NAME = 30

CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
SNAKE_NAME = re.compile(r"[a-z][a-z0-9_]*")
FIELD_SPEC = re.compile(r"(?P<name>[^:]*):(?P<type>[^?!]*)(?P<modifiers>[?!]*)")


class ScaffoldError(Exception):
    """A description the scaffold refuses, or a step that failed: one line for the user."""


@dataclass(frozen=True)
class Field:
    """One column of the resource, as `name:type` with `?` (optional) and `!` (unique)."""

    name: str
    type: str
    optional: bool
    unique: bool

    @property
    def constant(self) -> str:
        """The prefix of the model's constants for this field: `TITLE` for `title`."""
        return self.name.upper()


@dataclass(frozen=True)
class Resource:
    """What the templates are rendered with."""

    name: str
    snake: str
    plural: str
    public: bool
    fields: tuple[Field, ...]

    @property
    def label(self) -> str:
        """The resource in words: `invoice line`."""
        return self.snake.replace("_", " ")

    @property
    def plural_label(self) -> str:
        """Many of them in words: `invoice lines`."""
        return self.plural.replace("_", " ")

    @property
    def url(self) -> str:
        """The path prefix and OpenAPI tag: `invoice-lines`."""
        return self.plural.replace("_", "-")

    @property
    def unique_fields(self) -> tuple[Field, ...]:
        """The fields no two rows may share a value of."""
        return tuple(field for field in self.fields if field.unique)

    @property
    def sort_keys(self) -> tuple[str, ...]:
        """What a list of them may be sorted by: the timestamps and every field."""
        return ("created_at", "updated_at", *(field.name for field in self.fields))

    @property
    def types(self) -> frozenset[str]:
        """Every field type the resource uses."""
        return frozenset(field.type for field in self.fields)

    def files(self) -> dict[str, Path]:
        """The files the scaffold writes, by template name."""
        return {
            "model": BACKEND / f"app/models/{self.snake}.py",
            "schemas": BACKEND / f"app/schemas/{self.snake}.py",
            "repository": BACKEND / f"app/repositories/{self.plural}.py",
            "routes": BACKEND / f"app/api/routes/{self.plural}.py",
            "tests": BACKEND / f"tests/test_{self.plural}_api.py",
        }


def snake_case(name: str) -> str:
    """`InvoiceLine` is `invoice_line`, `HTTPLog` is `http_log`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def pluralize(word: str) -> str:
    """The regular English plural: `note` -> `notes`, `category` -> `categories`."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def check_module_name(name: str) -> None:
    """Refuse a module name that is a keyword or shadows a module or a builtin."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ScaffoldError(f"`{name}` is a Python keyword: choose another name")
    if name in sys.stdlib_module_names or name in PROJECT_PACKAGES or hasattr(builtins, name):
        raise ScaffoldError(f"`{name}` would shadow the module or builtin `{name}`: choose another")


def parse_name(name: str, plural: str | None) -> tuple[str, str]:
    """The snake-case name and plural of the class name `name`."""
    if not name.isidentifier():
        raise ScaffoldError(f"name `{name}` is not a Python identifier: use CamelCase, like Note")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"name `{name}` is a Python keyword: choose another")
    if not CLASS_NAME.fullmatch(name):
        suggestion = "".join(part.capitalize() for part in name.split("_"))
        raise ScaffoldError(f"name `{name}` must be CamelCase, like {suggestion or 'Note'}")
    snake = snake_case(name)
    plural = plural or pluralize(snake)
    if not SNAKE_NAME.fullmatch(plural) or plural == snake:
        raise ScaffoldError(f"plural `{plural}` must be snake_case and differ from `{snake}`")
    if len(plural) > MAX_TABLE_NAME:
        raise ScaffoldError(f"`{plural}` is longer than {MAX_TABLE_NAME} characters")
    check_module_name(snake)
    check_module_name(plural)
    return snake, plural


def parse_fields(spec: str) -> tuple[Field, ...]:
    """The fields of `title:str body:text? code:str!`."""
    fields: dict[str, Field] = {}
    for token in spec.split():
        match = FIELD_SPEC.fullmatch(token)
        if match is None:
            raise ScaffoldError(f"field `{token}` is not NAME:TYPE, like title:str or due:date?")
        name, type_, modifiers = match["name"], match["type"], match["modifiers"]
        check_field_name(name)
        if type_ not in FIELD_TYPES:
            raise ScaffoldError(
                f"field `{name}` has an unknown type `{type_}`: use one of {', '.join(FIELD_TYPES)}"
            )
        if len(modifiers) != len(set(modifiers)):
            raise ScaffoldError(f"field `{token}` repeats a modifier: use ? and ! once each")
        if "!" in modifiers and type_ in NEVER_UNIQUE:
            raise ScaffoldError(f"field `{name}` cannot be unique: {NEVER_UNIQUE[type_]}")
        if name in fields:
            raise ScaffoldError(f"field `{name}` is given twice")
        fields[name] = Field(name, type_, optional="?" in modifiers, unique="!" in modifiers)
    if not fields:
        raise ScaffoldError('give at least one field: fields="title:str body:text?"')
    return tuple(fields.values())


def check_field_name(name: str) -> None:
    """Refuse a field name that would not work as a column, an attribute and a JSON key."""
    if not SNAKE_NAME.fullmatch(name):
        raise ScaffoldError(f"field name `{name}` must be snake_case, like due_date")
    if name in RESERVED_FIELDS:
        raise ScaffoldError(f"field name `{name}` is reserved: every resource has {name}")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise ScaffoldError(f"field name `{name}` is a Python keyword: choose another")
    if name in ANNOTATION_BUILTINS or name in BASE_ATTRIBUTES or name.startswith("model_"):
        raise ScaffoldError(f"field name `{name}` is taken by Python, pydantic or SQLAlchemy")
    if len(name) > MAX_FIELD_NAME:
        raise ScaffoldError(f"field name `{name}` is longer than {MAX_FIELD_NAME} characters")


def describe(name: str, fields: str, *, public: bool, plural: str | None) -> Resource:
    """The resource the arguments describe, or `ScaffoldError`."""
    snake, plural = parse_name(name, plural)
    return Resource(name, snake, plural, public, parse_fields(fields))


def render(resource: Resource) -> dict[Path, str]:
    """Every new file's content, by path."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - Python source, not HTML
    )
    return {
        path: rewrap(environment.get_template(f"{template}.jinja").render(resource=resource))
        for template, path in resource.files().items()
    }


def rewrap(source: str) -> str:
    """Refill the docstrings and comments that a long name pushed past the line limit: ruff
    format leaves both as they are."""
    lines = source.splitlines()
    docstrings = [
        node.body[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    ]
    for docstring in sorted(docstrings, key=lambda node: node.lineno, reverse=True):
        start, end = docstring.lineno - 1, docstring.end_lineno or docstring.lineno
        if any(len(line) > LINE_LIMIT for line in lines[start:end]):
            lines[start:end] = refill(lines[start:end], opening='"""', closing='"""', prefix="")
    index = 0
    while index < len(lines):
        end = index
        while end < len(lines) and lines[end].lstrip().startswith("# "):
            end += 1
        if end > index and any(len(line) > LINE_LIMIT for line in lines[index:end]):
            block = [line.replace("# ", "", 1) for line in lines[index:end]]
            lines[index:end] = refill(block, opening="", closing="", prefix="# ")
        index = max(end, index + 1)
    return "\n".join(lines) + "\n"


def refill(block: list[str], *, opening: str, closing: str, prefix: str) -> list[str]:
    """The text of `block` refilled to the line limit, paragraph by paragraph, at its indent."""
    indent = block[0][: len(block[0]) - len(block[0].lstrip())] + prefix
    text = "\n".join(line.strip() for line in block).removeprefix(opening).removesuffix(closing)
    paragraphs = [" ".join(paragraph.split()) for paragraph in text.split("\n\n")]
    refilled: list[str] = []
    for number, paragraph in enumerate(paragraphs):
        first, last = number == 0, number == len(paragraphs) - 1
        text = f"{opening if first else ''}{paragraph}{closing if last else ''}"
        width = LINE_LIMIT - len(indent)
        wrapped = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
        refilled.extend(indent + line for line in wrapped)
        if not last:
            refilled.append(indent.rstrip())
    return refilled


def name_clash(source: str) -> str | None:
    """A name `source` both imports and defines (a class, an argument, an attribute), if any:
    the resource's names must not hide what its modules import."""
    tree = ast.parse(source)
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    for node in ast.walk(tree):
        defined = None
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            defined = node.name
        elif isinstance(node, ast.arg):
            defined = node.arg
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined = node.id
        if defined in imported:
            return defined
    return None


def register_model(resource: Resource) -> str:
    """`app/models/__init__.py` with the model imported and listed in `__all__`."""
    source = MODELS_INIT.read_text(encoding="utf-8")
    tree = ast.parse(source)
    listed = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.Assign)
            and [getattr(target, "id", None) for target in node.targets] == ["__all__"]
            and isinstance(node.value, ast.List)
        ),
        None,
    )
    if listed is None or listed.end_lineno is None:
        raise ScaffoldError(f"{relative(MODELS_INIT)} has no `__all__ = [...]` to add the model to")
    names = sorted({*ast.literal_eval(listed.value), resource.name})
    lines = source.splitlines(keepends=True)
    all_line = f"__all__ = {names!r}\n".replace("'", '"')
    lines[listed.lineno - 1 : listed.end_lineno] = [all_line]
    imports = [
        index for index, line in enumerate(lines) if line.startswith("from app.models.")
    ] or [0]
    new_import = f"from app.models.{resource.snake} import {resource.name}\n"
    position = next((index for index in imports if lines[index] > new_import), imports[-1] + 1)
    lines.insert(position, new_import)
    return "".join(lines)


ROUTER_IMPORT = re.compile(r"^from app\.api\.routes import (?P<modules>[\w, ]+)$", re.MULTILINE)
ROUTER_INCLUDES = re.compile(r"(?:^api_router\.include_router\(\w+\.router\)\n)+", re.MULTILINE)


def register_router(resource: Resource) -> str:
    """`app/api/router.py` with the resource's router included."""
    source = ROUTER.read_text(encoding="utf-8")
    imported, includes = ROUTER_IMPORT.search(source), ROUTER_INCLUDES.search(source)
    if imported is None or includes is None:
        raise ScaffoldError(
            f"{relative(ROUTER)} has no `from app.api.routes import ...` and "
            "`api_router.include_router(...)` lines to add the router to"
        )
    modules = sorted({*imported["modules"].replace(" ", "").split(","), resource.plural})
    include = f"api_router.include_router({resource.plural}.router)\n"
    source = source[: includes.end()] + include + source[includes.end() :]
    return ROUTER_IMPORT.sub(f"from app.api.routes import {', '.join(modules)}", source, count=1)


def register_fuzzing(resource: Resource) -> str:
    """`schemathesis.toml` with a public resource's writes marked superusers-only: the
    fuzzer's ordinary account gets a documented 403 there, as on `PATCH /users/{user_id}`."""
    collection = "/" + resource.url
    item = collection + "/{" + resource.snake + "_id}"
    blocks = [
        f'[[operations]]\ninclude-name = "{operation}"\nwarnings.display = []\n'
        for operation in (f"POST {collection}", f"PATCH {item}", f"DELETE {item}")
    ]
    comment = (
        f"# Only superusers write {resource.plural_label} (public=1): the fuzzer's ordinary "
        'account\n# gets a documented 403, so "only 401/403 responses" is expected here.\n'
    )
    source = FUZZING.read_text(encoding="utf-8").rstrip("\n")
    return f"{source}\n\n{comment}" + "\n".join(blocks)


def relative(path: Path) -> str:
    """`path` as the user sees it, from the project's root."""
    return str(path.relative_to(PROJECT_ROOT))


def alembic(*arguments: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """Run Alembic on `database_url`, in the project's environment."""
    return subprocess.run(  # noqa: S603 - arguments are this module's own
        [sys.executable, "-m", "alembic", "-c", str(BACKEND / "alembic.ini"), *arguments],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


def failure(step: str, result: subprocess.CompletedProcess[str]) -> ScaffoldError:
    """The error for a failed Alembic step, with the last line it printed."""
    lines = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()
    return ScaffoldError(f"{step} failed: {lines[-1]}")


@contextmanager
def migrated_database() -> Iterator[str]:
    """A database of its own, migrated to the newest revision, dropped afterwards."""
    url = database_beside("scaffold")
    create_test_database(url)
    try:
        result = alembic("upgrade", "head", database_url=url)
        if result.returncode != 0:
            raise failure("alembic upgrade head", result)
        yield url
    finally:
        remove_test_database(url)


def scaffold(
    name: str, fields: str, *, public: bool = False, plural: str | None = None
) -> list[str]:
    """Write the resource, its registrations and its migration; the paths written, from the
    project's root."""
    resource = describe(name, fields, public=public, plural=plural)
    new_files = render(resource)
    for path, source in new_files.items():
        if path.exists():
            raise ScaffoldError(f"{relative(path)} exists already: nothing was written")
        if clash := name_clash(source):
            raise ScaffoldError(
                f"`{clash}` would hide the `{clash}` that {relative(path)} imports: "
                "choose other names"
            )
    edited = {MODELS_INIT: register_model(resource), ROUTER: register_router(resource)}
    if resource.public and FUZZING.exists():
        edited[FUZZING] = register_fuzzing(resource)
    with migrated_database() as url:
        result = alembic("check", database_url=url)
        if result.returncode != 0:
            raise ScaffoldError(
                "the models differ from the migrations already: run `make db-revision` first "
                "(nothing was written)"
            )
        originals = {path: path.read_text(encoding="utf-8") for path in edited}
        revisions = set(VERSIONS.glob("*.py"))
        try:
            for path, source in {**new_files, **edited}.items():
                path.write_text(source, encoding="utf-8")
            format_python([*new_files, *(path for path in edited if path.suffix == ".py")])
            result = alembic(
                "revision",
                "--autogenerate",
                "-m",
                f"Create the {resource.plural} table",
                database_url=url,
            )
            written = set(VERSIONS.glob("*.py")) - revisions
            if result.returncode != 0 or len(written) != 1:
                raise failure("alembic revision --autogenerate", result)
            for path in written:
                drop_autogenerate_markers(path)
            format_python(list(written))
        except BaseException:
            for path in new_files:
                path.unlink(missing_ok=True)
            for path in set(VERSIONS.glob("*.py")) - revisions:
                path.unlink()
            for path, source in originals.items():
                path.write_text(source, encoding="utf-8")
            raise
    return [relative(path) for path in (*new_files, *written, *edited)]


def format_python(paths: list[Path]) -> None:
    """Format the written files as `make fmt` would: the templates need not count spaces."""
    ruff = Path(sys.executable).parent / "ruff"
    for command in (["check", "--fix", "--quiet", "--select", "I"], ["format", "--quiet"]):
        result = subprocess.run(  # noqa: S603 - arguments are this module's own
            [str(ruff), *command, *map(str, paths)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise failure(f"ruff {command[0]}", result)


def drop_autogenerate_markers(revision: Path) -> None:
    """Remove Alembic's `# ### commands auto generated ... ###` lines: the scaffold's revision
    needs no adjusting."""
    lines = revision.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not re.fullmatch(r"\s*# ###.*###\s*", line)]
    revision.write_text("".join(kept), encoding="utf-8")
