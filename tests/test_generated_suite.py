"""Each baked project's own test suite passes on its own database: every test it collects."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from collections.abc import Mapping

import pytest

from tests.conftest import Baked, combination_params, each_combination

# Colour codes, should FORCE_COLOR or PY_COLORS reach the project's pytest.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# pytest's last line: "==== 1 failed, 70 passed in 5.33s ====", without the rules under -q,
# with "(0:01:05)" after the seconds past a minute; "72 tests collected in 0.19s" under
# --collect-only -q.
SUMMARY_LINE = re.compile(r"(?:=+ )?(?P<counts>.+?) in \d+\.\d\ds(?: \([^)]*\))?(?: =+)?")
COUNT = re.compile(r"(\d+) ([a-z]+(?: [a-z]+)*)")
# One key per outcome whatever the count, as in pytest's own stats.
NOUNS = {
    "errors": "error",
    "warning": "warnings",
    "test collected": "collected",
    "tests collected": "collected",
}


def summary_counts(output: str) -> Counter[str]:
    """The counts on pytest's final summary line: passed, failed, error, skipped, xfailed, ..."""
    for line in reversed(ANSI_ESCAPE.sub("", output).splitlines()):
        summary = SUMMARY_LINE.fullmatch(line.strip())
        if summary is None:
            continue
        if summary["counts"] == "no tests ran":
            return Counter()
        counts: Counter[str] = Counter()
        for part in summary["counts"].split(", "):
            count = COUNT.fullmatch(part)
            if count is None:
                break
            counts[NOUNS.get(count[2], count[2])] += int(count[1])
        else:
            return counts
    raise AssertionError(f"no pytest summary line in:\n{output}")


def make_test(
    baked: Baked, pytest_args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`make test` in the project; PYTEST_ARGS always given, so none leaks in through MAKEFLAGS."""
    return baked.run("make", "--no-print-directory", "test", f"PYTEST_ARGS={pytest_args}", env=env)


def assert_all_collected_passed(collection_output: str, run_output: str) -> None:
    """Nothing failed, errored, skipped, xfailed, xpassed or went missing from the run.

    The generated suite skips nothing on purpose, so any skip is unexpected.
    """
    collected = summary_counts(collection_output)["collected"]
    outcomes = summary_counts(run_output)
    # Warnings are not outcomes; the project's filterwarnings turns its own into errors.
    outcomes.pop("warnings", None)

    assert collected > 0, collection_output
    assert outcomes == Counter(passed=collected), run_output


def assert_every_collected_test_passed(
    baked: Baked, run: subprocess.CompletedProcess[str], env: Mapping[str, str] | None = None
) -> None:
    """The project's suite, run as `run`, passed every test it collects."""
    collection = make_test(baked, "--collect-only -q", env=env)
    assert_all_collected_passed(collection.stdout, run.stdout)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("====== 72 passed in 4.92s ======", {"passed": 72}),
        (
            "== 1 failed, 66 passed, 1 skipped, 1 deselected, 1 xfailed, 1 xpassed, "
            "2 warnings, 1 error in 5.33s ==",
            {
                "failed": 1,
                "passed": 66,
                "skipped": 1,
                "deselected": 1,
                "xfailed": 1,
                "xpassed": 1,
                "warnings": 2,
                "error": 1,
            },
        ),
        ("= 1 warning, 2 errors in 0.10s =", {"warnings": 1, "error": 2}),
        ("72 passed in 65.12s (0:01:05)", {"passed": 72}),
        (
            "\x1b[32m==== \x1b[32m\x1b[1m72 passed\x1b[0m"
            "\x1b[32m in 4.92s\x1b[0m\x1b[32m ====\x1b[0m",
            {"passed": 72},
        ),
        ("=== no tests ran in 0.01s ===", {}),
        ("72 tests collected in 0.19s", {"collected": 72}),
        ("1 test collected in 0.05s", {"collected": 1}),
        (
            "test_a.py::test_timing[1 passed in 0.50s] PASSED\n"
            "=== 2 passed in 1.00s ===\n"
            "make: Leaving directory '/tmp/project'\n",
            {"passed": 2},
        ),
    ],
)
def test_the_summary_line_is_read_in_every_form(output: str, expected: dict[str, int]) -> None:
    assert summary_counts(output) == Counter(expected)


def test_output_without_a_summary_line_is_an_error() -> None:
    with pytest.raises(AssertionError, match="no pytest summary line"):
        summary_counts("2 workers [72 items]\nINTERNALERROR> KeyboardInterrupt\n")


COLLECTED_72 = "72 tests collected in 0.19s"


@pytest.mark.parametrize(
    "summary",
    ["72 passed in 4.92s", "72 passed, 3 warnings in 4.92s"],
)
def test_a_run_where_every_collected_test_passed_is_accepted(summary: str) -> None:
    assert_all_collected_passed(COLLECTED_72, f"=== {summary} ===")


@pytest.mark.parametrize(
    "summary",
    [
        "71 passed, 1 skipped in 4.92s",
        "71 passed, 1 xfailed in 4.92s",
        "71 passed, 1 xpassed in 4.92s",
        "71 passed, 1 error in 4.92s",
        "71 passed, 1 failed in 4.92s",
        "71 passed, 1 deselected in 4.92s",
        "71 passed in 4.92s",
        "73 passed in 4.92s",
        "no tests ran in 0.01s",
    ],
)
def test_a_run_with_any_other_outcome_or_a_missing_test_is_refused(summary: str) -> None:
    with pytest.raises(AssertionError):
        assert_all_collected_passed(COLLECTED_72, f"=== {summary} ===")


def test_a_suite_that_collects_nothing_is_refused() -> None:
    with pytest.raises(AssertionError):
        assert_all_collected_passed("no tests collected in 0.01s", "=== no tests ran in 0.01s ===")


@each_combination
def test_make_test_passes_on_the_chosen_database_in_random_order_on_two_workers(
    baked: Baked,
) -> None:
    """Random order (pytest-randomly); each xdist worker gets a database of its own.

    Nothing here sets PostgreSQL's session time zone: the suite sets one other than UTC itself
    (tests/database.py), so a plain `make test` on a UTC server catches a lost UTC conversion.
    """
    result = make_test(baked, "-n 2 -p randomly")

    header = re.search(r"^database: (\w+)", result.stdout, re.MULTILINE)
    assert header is not None, result.stdout
    assert header.group(1) == baked.combination.database
    assert re.search(r"^Using --randomly-seed=\d+", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"2 workers \[\d+ items\]", result.stdout), result.stdout
    assert "crashed" not in result.stdout
    assert_every_collected_test_passed(baked, result)


# Both modes and both key types: what else could change the fallback's outcome is the SQLite
# projects' own, and their suites run on SQLite in every combination above.
@pytest.mark.parametrize(
    "baked",
    [
        param
        for param in combination_params(("postgresql",))
        if param.id in {"postgresql-uuid-sync", "postgresql-int-async"}
    ],
    indirect=True,
)
def test_without_a_test_database_the_suite_falls_back_to_sqlite_in_one_process(
    baked: Baked,
) -> None:
    """The seed's developer convenience: no server configured, the suite still runs.

    One process here, so the suite also passes with every test sharing one database.
    """
    no_server = {"TEST_DATABASE_URL": ""}
    result = make_test(baked, "", env=no_server)

    assert re.search(r"^database: sqlite ", result.stdout, re.MULTILINE), result.stdout
    assert "TEST_DATABASE_URL is not set" in result.stdout
    assert not re.search(r"\d+ workers \[", result.stdout)
    assert_every_collected_test_passed(baked, result, env=no_server)
