"""Without a PostgreSQL server, CI fails the PostgreSQL half; a developer's run skips it."""

from __future__ import annotations

import pytest

from tests.conftest import require_postgres

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def set_ci(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)


def outcome_without_a_server() -> type[BaseException]:
    """Fail or skip: caught both ways, so that the wrong one fails this test, not skips it."""
    with pytest.raises((pytest.fail.Exception, pytest.skip.Exception)) as outcome:
        require_postgres()
    return outcome.type


@pytest.mark.parametrize("ci", ["true", "True", "TRUE", "1", "yes", "woodpecker"])
def test_any_ci_value_but_false_or_0_fails_without_a_server(
    monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    set_ci(monkeypatch, ci)

    assert outcome_without_a_server() is pytest.fail.Exception


@pytest.mark.parametrize("ci", [None, "", " ", "false", "False", "FALSE", " false\n", "0"])
def test_outside_ci_a_missing_server_skips(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    set_ci(monkeypatch, ci)

    assert outcome_without_a_server() is pytest.skip.Exception


@pytest.mark.parametrize("ci", [None, "true"])
def test_a_configured_server_is_used_in_and_out_of_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    monkeypatch.setenv("TEST_DATABASE_URL", SERVER)
    set_ci(monkeypatch, ci)

    assert require_postgres() == SERVER
