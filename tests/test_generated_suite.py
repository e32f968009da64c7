"""Each baked project's own test suite passes on its own database."""

from __future__ import annotations

import re

from tests.conftest import Baked, each_combination, each_postgresql_combination


@each_combination
def test_make_test_passes_on_the_chosen_database_in_random_order_on_two_workers(
    baked: Baked,
) -> None:
    """Random order (pytest-randomly); each xdist worker gets a database of its own."""
    result = baked.make("test", PYTEST_ARGS="-n 2 -p randomly")

    header = re.search(r"^database: (\w+)", result.stdout, re.MULTILINE)
    assert header is not None, result.stdout
    assert header.group(1) == baked.combination.database
    assert re.search(r"^Using --randomly-seed=\d+", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"2 workers \[\d+ items\]", result.stdout), result.stdout
    assert "crashed" not in result.stdout
    assert re.search(r"\d+ passed", result.stdout)
    assert " failed" not in result.stdout
    assert " skipped" not in result.stdout


@each_postgresql_combination
def test_without_a_test_database_the_suite_falls_back_to_sqlite_in_one_process(
    baked: Baked,
) -> None:
    """The seed's developer convenience: no server configured, the suite still runs.

    One process here, so the suite also passes with every test sharing one database.
    """
    result = baked.run("make", "--no-print-directory", "test", env={"TEST_DATABASE_URL": ""})

    assert re.search(r"^database: sqlite ", result.stdout, re.MULTILINE), result.stdout
    assert "TEST_DATABASE_URL is not set" in result.stdout
    assert not re.search(r"\d+ workers \[", result.stdout)
    assert re.search(r"\d+ passed", result.stdout)
    assert " failed" not in result.stdout
