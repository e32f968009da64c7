"""The template's Python reads as one program per file: Jinja only at clear seams.

No tag or expression inside a `def` or `class` statement (its whole signature), no block that
opens in one function and closes in another, and no line wider than the projects' own limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE_DIR

PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
SOURCES = sorted([*PROJECT.rglob("*.py"), *(TEMPLATE_DIR / "hooks").glob("*.py")])
LINE_LIMIT = 100
JINJA = re.compile(r"\{\{|\{%")
TAG = re.compile(r"\{%-?\s*(if|for|elif|else|endif|endfor)\b")
STATEMENT = re.compile(r"^\s*(async\s+def|def|class)\s")
TAG_ONLY_LINE = re.compile(r"^\s*\{%.*%\}\s*$")


@dataclass(frozen=True)
class Function:
    name: str
    start: int  # the def line
    end: int  # the last line of its body


def is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#") and not TAG_ONLY_LINE.match(line)


def indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def functions(lines: list[str]) -> list[Function]:
    """Every def and class with the span of its body, found by indentation."""
    found: list[Function] = []
    code = [number for number, line in enumerate(lines) if is_code(line)]
    for position, number in enumerate(code):
        if not STATEMENT.match(lines[number]):
            continue
        end = number
        for later in code[position + 1 :]:
            if indent(lines[later]) <= indent(lines[number]) and not lines[
                later
            ].lstrip().startswith((")", "]")):
                break
            end = later
        found.append(Function(lines[number].strip()[:60], number, end))
    return found


def context(spans: list[Function], line: int) -> str:
    """The function whose body holds `line` (a def line belongs to the scope around it)."""
    inside = [span for span in spans if span.start < line <= span.end]
    return min(inside, key=lambda span: span.end - span.start).name if inside else "<module>"


def straddles(lines: list[str], spans: list[Function], first: int, last: int) -> bool:
    """Whether the code between two tags (lines `first` and `last`) leaves the scope it opened
    in: a line of another function's body, or a function that ends after the closing tag."""
    inner = [number for number in range(first + 1, last) if is_code(lines[number])]
    if not inner:
        return False
    opened_in = context(spans, inner[0])
    enclosed = [span for span in spans if first < span.start < last]
    if any(span.end >= last for span in enclosed):
        return True
    return any(
        context(spans, number) != opened_in
        and not any(span.start <= number <= span.end for span in enclosed)
        for number in inner
    )


def signatures(lines: list[str]) -> list[tuple[int, str]]:
    """Each def/class statement up to the colon that ends it, with its first line number."""
    found = []
    for number, line in enumerate(lines):
        if STATEMENT.match(line):
            statement = [line]
            while not statement[-1].rstrip().endswith(":") and number + len(statement) < len(lines):
                statement.append(lines[number + len(statement)])
            found.append((number + 1, "\n".join(statement)))
    return found


def name(path: Path) -> str:
    return str(path.relative_to(TEMPLATE_DIR))


@pytest.mark.parametrize("path", SOURCES, ids=name)
def test_no_jinja_inside_a_def_or_class_statement(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()

    assert [number for number, text in signatures(lines) if JINJA.search(text)] == []


@pytest.mark.parametrize("path", SOURCES, ids=name)
def test_no_block_opens_in_one_function_and_closes_in_another(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    spans = functions(lines)
    segment_starts: list[int] = []
    straddling: list[int] = []
    for number, line in enumerate(lines):
        for tag in TAG.findall(line):
            if tag in {"if", "for"}:
                segment_starts.append(number)
                continue
            first = segment_starts.pop()
            if straddles(lines, spans, first, number):
                straddling.append(first + 1)
            if tag in {"elif", "else"}:
                segment_starts.append(number)

    assert straddling == []


@pytest.mark.parametrize("path", SOURCES, ids=name)
def test_template_lines_fit_the_projects_line_limit(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()

    assert [number + 1 for number, line in enumerate(lines) if len(line) > LINE_LIMIT] == []
