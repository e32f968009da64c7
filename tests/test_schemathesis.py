"""Schemathesis against served projects: the API does what its OpenAPI schema says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx2
import pytest

from tests.conftest import VENV_BIN, Served, combination_params

FUZZER_EMAIL = "schemathesis@example.com"
FUZZER_PASSWORD = "correct-horse-9"
# One combination takes 10-20 s with this many cases per operation and phase on two cores.
MAX_EXAMPLES = 100
SEED = 20_240_601

# The run's configuration, as a project's schemathesis.toml would hold it.
CONFIG = f"""\
# Reproducible: a fixed seed, one worker (the order of requests is fixed too) and no
# example database carried over from an earlier run.
seed = {SEED}
workers = 1
color = false
# Every failure of every operation, not only the first one Hypothesis runs into.
continue-on-failure = true

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

[cache]
enabled = false

# Only the bearer token is masked: the fuzzed passwords and tokens are what a failure is
# about. (Empty lists would mean the defaults, which mask any field named like a secret.)
[output.sanitization]
keys-to-sanitize = ["authorization"]
sensitive-markers = ["authorization"]

# Every built-in check, whatever a later release makes the default.
[checks]
enabled = true

# A token the API stops accepting would leave only 401s to check: the run fails instead.
[warnings]
fail-on = ["missing_auth"]

# Sign-up creates another user's account, which the caller gets a 404 for, by design.
[[operations]]
include-name = "GET /users/{{user_id}}"
checks.ensure_resource_availability.enabled = false

# email-validator refuses addresses at special-use domains (`.test`, `.local`, ...) that the
# schema's `format: email` cannot tell apart, and sign-up refuses common passwords and emails
# too long once normalised, which no schema keyword says: such a sign-up is a documented 422,
# not a schema-valid request lost. Every other check still runs on sign-up.
[[operations]]
include-name = "POST /users"
checks.positive_data_acceptance.enabled = false

# Only superusers may change, delete or list users: the fuzzer's ordinary account gets a
# documented 403.
[[operations]]
include-name = "PATCH /users/{{user_id}}"
warnings.display = []

[[operations]]
include-name = "DELETE /users/{{user_id}}"
warnings.display = []

[[operations]]
include-name = "GET /users"
warnings.display = []

# No schema can say which emailed tokens exist, nor what the caller's password is: a random
# token or current password is a documented 400 (`invalid_reset_token`,
# `invalid_verification_token`, `wrong_password`), not a schema-valid request lost.
[[operations]]
include-name = "POST /auth/password-reset/confirm"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name = "POST /auth/verify-email"
checks.positive_data_acceptance.enabled = false

[[operations]]
include-name = "POST /users/me/password"
checks.positive_data_acceptance.enabled = false

# Deleting the fuzzer's own account would leave its token naming nobody: every later request
# would be a 401. The baked suite and the served tests cover it.
[[operations]]
include-name = "DELETE /users/me"
enabled = false
"""


FUZZER_ADDRESS = "203.0.113.250"


def fuzzer_token(url: str) -> str:
    """An access token for a new ordinary user, signed up and logged in through the API."""
    with httpx2.Client(base_url=url, timeout=10) as client:
        signed_up = client.post("/users", json={"email": FUZZER_EMAIL, "password": FUZZER_PASSWORD})
        assert signed_up.status_code == 201, signed_up.text
        login = client.post(
            "/auth/token", data={"username": FUZZER_EMAIL, "password": FUZZER_PASSWORD}
        )
        assert login.status_code == 200, login.text
    token: str = login.json()["access_token"]
    return token


# Every pair of answers (database and mode, database and keys, mode and keys) in four
# combinations: what the fuzzer can find differs along those lines, and each run is long.
FUZZED_COMBINATIONS = (
    "sqlite-uuid-sync",
    "sqlite-int-async",
    "postgresql-uuid-async",
    "postgresql-int-sync",
)


@pytest.mark.parametrize(
    "baked",
    [param for param in combination_params() if param.id in FUZZED_COMBINATIONS],
    indirect=True,
)
def test_the_api_keeps_the_promises_of_its_schema(served: Served, tmp_path: Path) -> None:
    """Schemathesis (`st run`) finds no failing check in any phase, authenticated.

    Every phase runs (schema examples, coverage of each constraint's edges, fuzzing, stateful
    sequences along the links it infers) with every built-in check, `negative_data_rejection`
    and the default ones alike: a response whose status, content type, headers or body the
    schema does not document fails, as do a 5xx, invalid data accepted, valid data rejected,
    a secured operation that answers without a valid token (`ignored_auth`) and a wrong
    answer to a method the path does not have.

    Every request carries the bearer token of an ordinary user signed up and logged in through
    the API, as a client would. Not a superuser's: Schemathesis reuses the ids it sees in
    responses, the caller's own from `/users/me` included, and soon sends
    `PATCH /users/<own id> {"is_active": false}`; every later request then gets a documented
    403 and the run goes on checking nothing. So `PATCH /users/{user_id}` only ever answers
    403 here (after the body is parsed: an unparsable one is still checked), and its
    "only 401/403 responses" warning is hidden; anywhere else that warning fails the run.

    One check is switched off where it asserts what the API deliberately does not do:
    `ensure_resource_availability` expects `GET /users/{id}` to find the user that
    `POST /users` has just created. Sign-up creates another person's account, and a caller
    who is not a superuser gets the same 404 for it as for an id nobody has, so that ids
    reveal nothing (`test_users_log_in_and_see_only_their_own_data`). `ignored_auth` and
    `use_after_free` need nothing: the API answers 401 without or with a bad token, as the
    check expects, and has no DELETE for the latter to follow.

    Offline: the schema and every request go to the served project on 127.0.0.1.
    """
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    token = fuzzer_token(served.url)

    # In tmp_path: Schemathesis and Hypothesis keep their working files in the current directory.
    result = subprocess.run(
        [
            str(VENV_BIN / "st"),
            "--config-file",
            str(config),
            "run",
            f"{served.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            # The fuzzer's failed logins count against an address of its own (the served
            # projects trust 127.0.0.1 as a proxy), not against the other tests' 127.0.0.1.
            "--header",
            f"X-Forwarded-For: {FUZZER_ADDRESS}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )

    if result.returncode != 0:
        pytest.fail(
            f"st run exited {result.returncode}:\n{result.stdout}\n{result.stderr}", pytrace=False
        )
