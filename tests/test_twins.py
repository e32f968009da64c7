"""Sync and async twins stay the same program: only the async words may differ.

The template keeps a file twice where the SQLAlchemy modes differ (`name.sync.py`,
`name.async.py`). Where the two are one program written twice, this test reads the async file
as the sync one would be written (no `async`/`await`, the sync classes, hashing called in place
instead of in a worker thread, no event loop started) and requires the result to equal the sync
file, line for line: a change made to one twin only fails here. Imports are left out (each
baked project's lint checks them). Files whose variants are different programs are listed.
"""

from __future__ import annotations

import ast
import difflib
import re
import subprocess

import pytest

from tests.conftest import TEMPLATE_DIR, VENV_BIN

PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
# One program, written once per mode.
TWINS = (
    "backend/app/api/deps.py",
    "backend/app/api/routes/auth.py",
    "backend/app/api/routes/users.py",
    "backend/app/prune_sessions.py",
    "backend/app/repositories/account_tokens.py",
    "backend/app/repositories/auth_sessions.py",
    "backend/app/repositories/base.py",
    "backend/app/repositories/login_failures.py",
    "backend/app/repositories/refresh_tokens.py",
    "backend/app/repositories/users.py",
    "backend/app/superuser.py",
)
# The Jinja templates of `make resource`, which write a resource in the project's mode: the
# same program once rendered, compared as text.
TEMPLATE_TWINS = (
    "backend/scaffold/templates/repository.jinja",
    "backend/scaffold/templates/routes.jinja",
)
# Different programs: the Alembic environment and the session lifecycle (an async engine is
# driven from an event loop), and the test modules whose fixtures run on event loops of their own.
DIFFERENT_PROGRAMS = (
    "backend/alembic/env.py",
    "backend/app/db/session.py",
    "backend/tests/conftest.py",
    "backend/tests/test_health.py",
    "backend/tests/test_persistence.py",
)
# Different programs that open alike: up to the first definition that differs by mode, both
# variants must say the same (the Alembic environment's revision naming, options, offline run
# and migration lock are shared; only how it connects differs).
SHARED_OPENINGS = {"backend/alembic/env.py": "def create_own_engine("}
ASYNC_WORDS = (
    ("async def ", "def "),
    ("async with ", "with "),
    ("await ", ""),
    ("AsyncConnection", "Connection"),
    ("AsyncEngine", "Engine"),
    ("AsyncIterator", "Iterator"),
    ("AsyncSession", "Session"),
    ("async_sessionmaker", "sessionmaker"),
    ("asynccontextmanager", "contextmanager"),
    ("create_async_engine", "create_engine"),
)
# `(await session.scalars(...)).all()` is `session.scalars(...).all()` in sync code.
AWAITED_CALL = re.compile(r"\(await ([\w.]+\([^()]*\))\)")
# The async code runs Argon2, and sending email, in a worker thread: `await
# in_hashing_thread(f, x)` and `await run_in_threadpool(f, x)` are `f(x)`.
HASHING_THREAD = re.compile(r"(?:in_hashing_thread|run_in_threadpool)\(\s*(\w+),\s*")
# A command starts its event loop where the sync one calls straight in: `asyncio.run(f(x))`.
EVENT_LOOP = re.compile(r"asyncio\.run\((.*)\)$", re.MULTILINE)


def mode_files() -> tuple[str, ...]:
    """`MODE_FILES` of the post-generation hook, read without running the hook."""
    source = (TEMPLATE_DIR / "hooks/post_gen_project.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "MODE_FILES":
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return tuple(str(name) for name in value)
    raise AssertionError("hooks/post_gen_project.py has no MODE_FILES")


def variant(name: str, mode: str) -> str:
    stem, _, suffix = name.rpartition(".")
    return (PROJECT / f"{stem}.{mode}.{suffix}").read_text(encoding="utf-8")


def without_imports(source: str) -> str:
    kept: list[str] = []
    in_parenthesised_import = False
    for line in source.splitlines():
        if in_parenthesised_import:
            in_parenthesised_import = not line.startswith(")")
            continue
        if line.startswith(("import ", "from ")):
            in_parenthesised_import = line.rstrip().endswith("(")
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def formatted(source: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "ruff"), "format", "--isolated", "--line-length", "100", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_sync(async_source: str) -> str:
    """The async twin read as its sync counterpart is written."""
    source = AWAITED_CALL.sub(r"\1", async_source)
    source = HASHING_THREAD.sub(r"\1(", source)
    source = EVENT_LOOP.sub(r"\1", source)
    for async_word, sync_word in ASYNC_WORDS:
        source = source.replace(async_word, sync_word)
    return source


def twin_difference(name: str, sync: str, async_read_as_sync: str) -> str:
    """A unified diff of the two readings of a twin: empty when they are one program."""
    return "".join(
        difflib.unified_diff(
            sync.splitlines(keepends=True),
            async_read_as_sync.splitlines(keepends=True),
            f"{name} (sync)",
            f"{name} (async, read as sync)",
        )
    )


def test_every_mode_file_is_either_a_twin_or_a_different_program() -> None:
    assert sorted(mode_files()) == sorted(TWINS + DIFFERENT_PROGRAMS + TEMPLATE_TWINS)


@pytest.mark.parametrize("name", TWINS)
def test_the_twins_differ_only_by_the_async_words(name: str) -> None:
    # Both sides: a sync module may have `async def` routes and dependencies that do no I/O.
    sync = formatted(without_imports(as_sync(variant(name, "sync"))))
    async_read_as_sync = formatted(without_imports(as_sync(variant(name, "async"))))

    assert twin_difference(name, sync, async_read_as_sync) == ""


@pytest.mark.parametrize("name", TWINS)
def test_twins_are_plain_python_so_a_tool_could_derive_one_from_the_other(name: str) -> None:
    for mode in ("sync", "async"):
        source = variant(name, mode)
        assert "{{" not in source
        assert "{%" not in source
        ast.parse(source)


@pytest.mark.parametrize("name", sorted(SHARED_OPENINGS))
def test_different_programs_share_their_common_opening_word_for_word(name: str) -> None:
    marker = SHARED_OPENINGS[name]
    openings = []
    for mode in ("sync", "async"):
        source = variant(name, mode)
        assert marker in source, (mode, marker)
        openings.append(without_imports(source[: source.index(marker)]))

    sync, async_ = openings
    difference = "".join(
        difflib.unified_diff(
            sync.splitlines(keepends=True), async_.splitlines(keepends=True), "sync", "async"
        )
    )
    assert difference == ""


@pytest.mark.parametrize("name", TEMPLATE_TWINS)
def test_the_scaffold_templates_differ_only_by_the_async_words(name: str) -> None:
    sync = as_sync(variant(name, "sync"))
    async_read_as_sync = as_sync(variant(name, "async"))

    assert twin_difference(name, sync, async_read_as_sync) == ""
