"""Test suites: each baked project's own, cold and warm, and the template's `make test`."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from .config import (
    MAINTENANCE_DB,
    RAW_DIR,
    SUITE_TIMEOUT_S,
    TEMPLATE_SUITE_TIMEOUT_S,
    VENV_BIN,
    BenchError,
    Settings,
    log,
    slug,
)
from .databases import drop_database, sqlalchemy_url
from .projects import bake, base_env, mode_answers
from .results import Outcome, SuiteResult, SuiteRun

# pytest's closing line, "== 181 passed, 2 skipped in 140.25s (0:02:20) ==" (bare with -q).
SUMMARY = re.compile(
    r"^=*\s*(\d+ (?:passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?)\b.*"
    r"\bin [\d.]+s\b.*?)\s*=*$"
)
COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)\b")


def pytest_summary(output: str) -> tuple[str, dict[str, int]]:
    """pytest's last summary line and its counts; the output's last line when there is none.

    `make test` ends with make's own lines, so the summary is searched for, not taken last.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        match = SUMMARY.match(line)
        if match:
            counts = {
                kind.rstrip("s") if kind.startswith("error") else kind: int(number)
                for number, kind in COUNT.findall(match.group(1))
            }
            return match.group(1), counts
    return (lines[-1] if lines else ""), {}


def timed_suite(
    label: str, command: Sequence[str | Path], cwd: Path, env: dict[str, str], timeout: float
) -> SuiteRun:
    """Run a test suite and time it; on timeout or interruption, stop all it started."""
    log(f"suite {label}")
    raw = RAW_DIR / f"suite-{slug(label)}.txt"
    started = time.perf_counter()
    with raw.open("w+", encoding="utf-8") as output:
        # A session of its own: `make test` starts pytest, which starts xdist workers.
        process = subprocess.Popen(
            [str(arg) for arg in command],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return SuiteRun(time.perf_counter() - started, -1, f"timed out ({timeout} s)")
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    summary, counts = pytest_summary(text)
    return SuiteRun(seconds, returncode, summary, counts)


def cold_and_warm_suite(
    label: str, command: Sequence[str | Path], cwd: Path, env: dict[str, str]
) -> SuiteResult:
    """Time two runs: the first after baking (cold), the second as a developer re-runs (warm).

    The first run compiles and writes the bytecode a developer's machine keeps between runs
    (whatever PYTHONDONTWRITEBYTECODE says in this environment); the second uses it.
    """
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    cold = timed_suite(f"{label} (first run)", command, cwd, env, SUITE_TIMEOUT_S)
    warm = timed_suite(label, command, cwd, env, SUITE_TIMEOUT_S)
    return SuiteResult(label, cold, warm)


def run_suites(
    settings: Settings,
    workdir: Path,
    projects: dict[str, Path],
    stack: contextlib.ExitStack,
    outcome: Outcome,
) -> None:
    """Each mode's baked suite on PostgreSQL (the served project) and on a SQLite bake."""
    # The template's virtualenv loads pytest-cookies (and may load pytest-benchmark): not ours.
    pytest: list[str | Path] = [VENV_BIN / "python", "-m", "pytest", "-q"]
    pytest += ["-p", "no:cookies", "-p", "no:pytest_benchmark"]
    for mode in settings.modes:
        database = f"bench_suite_{mode}"
        # The suite creates and drops this database itself; dropped here too if it is killed.
        stack.callback(drop_database, database)
        env = base_env() | {"TEST_DATABASE_URL": sqlalchemy_url(database)}
        outcome.suites.append(
            cold_and_warm_suite(f"{mode}-postgresql", pytest, projects[mode], env)
        )
        log(f"bake {mode} (sqlite, uuid)")
        label = f"{mode}-sqlite"
        try:
            project = bake(
                settings.template,
                workdir,
                label,
                mode_answers(mode, "sqlite", mode_is_choice=settings.mode_is_choice),
            )
        except BenchError as error:
            first_line = str(error).splitlines()[0]
            outcome.suites.append(
                SuiteResult(label, SuiteRun(0.0, -1, f"bake failed: {first_line}"))
            )
            continue
        outcome.suites.append(cold_and_warm_suite(label, pytest, project, base_env()))


def run_template_suite(settings: Settings) -> SuiteResult:
    """The template's `make test`, once: every project it tests is baked afresh, so it is cold."""
    env = base_env() | {"TEST_DATABASE_URL": sqlalchemy_url(MAINTENANCE_DB)}
    run = timed_suite(
        "template make test", ["make", "test"], settings.template, env, TEMPLATE_SUITE_TIMEOUT_S
    )
    return SuiteResult("template make test", run)
