"""`make fuzz` in served projects: the API does what its OpenAPI schema says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Baked, combination_params

# Two combinations that differ in every answer (database, key type, mode), three seeds each. A
# run takes about 25 s on two cores.
SEEDS = {
    "sqlite-uuid-sync": (20_240_601, 7, 424_242),
    "postgresql-int-async": (20_240_601, 7, 424_242),
}


@pytest.mark.parametrize(
    ("baked", "seed"),
    [
        pytest.param(param.values[0], seed, id=f"{param.id}-seed{seed}", marks=param.marks)
        for param in combination_params()
        for seed in SEEDS.get(param.id, ())
    ],
    indirect=["baked"],
)
def test_make_fuzz_finds_nothing(baked: Baked, seed: int) -> None:
    """`make fuzz` (Schemathesis, `st run`) finds no failing check in any phase, authenticated.

    The project's own command and configuration (`schemathesis.toml`): it serves the app with
    `make run` on a database of its own, signs up and logs in an ordinary user, and runs every
    phase (schema examples, coverage of each constraint's edges, fuzzing, stateful sequences
    along the links it infers) with every built-in check: a response whose status, content
    type, headers or body the schema does not document fails, as do a 5xx, invalid data
    accepted, valid data rejected (a NUL the schema's pattern allowed, say), a secured
    operation that answers without a valid token and a wrong answer to a method the path does
    not have. The exclusions, each with its reason, are the project's, in `schemathesis.toml`.

    Offline: the schema and every request go to the served project on 127.0.0.1. The run
    leaves nothing in the project's tree.
    """
    before = tree(baked.path)

    result = baked.make("fuzz", check=False, FUZZ_ARGS=f"--seed {seed}")

    if result.returncode != 0:
        pytest.fail(
            f"make fuzz --seed {seed}: exit {result.returncode}\n{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    assert f"Seed: {seed}" in result.stdout
    assert tree(baked.path) - before == set()


def tree(root: Path) -> set[Path]:
    """The project's files and folders, but for Python's bytecode."""
    return {path for path in root.rglob("*") if "__pycache__" not in path.parts}
