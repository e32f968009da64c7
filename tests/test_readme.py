"""The template's README keeps its promise: two commands first, and they exist."""

from __future__ import annotations

import re

from tests.conftest import TEMPLATE_DIR


def test_readme_opens_with_the_two_commands() -> None:
    readme = (TEMPLATE_DIR / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:bash|sh)\n(.*?)```", readme, re.DOTALL)

    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert [command for command in commands if command] == ["make demo", "make test"]
    makefile = (TEMPLATE_DIR / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)
