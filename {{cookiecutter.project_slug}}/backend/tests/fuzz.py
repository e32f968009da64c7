"""`make fuzz`: Schemathesis against the API as `make run` serves it, on a database of its own.

The database is chosen as the test suite chooses its own (beside it, on TEST_DATABASE_URL's
server, or a temporary SQLite file), created empty, and dropped at the end. An ordinary user
signs up and logs in through the API; `st run` then sends every request with that user's bearer
token, with the checks and exclusions of `schemathesis.toml`. Arguments go to `st run`: `--seed
N` repeats a run, `--max-examples N` makes it longer or shorter.
"""

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx2
from sqlalchemy import make_url

from tests.database import create_test_database, database_beside, remove_test_database
from tests.mailbox import unused_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).parent / "st"
SERVER_START_SECONDS = 60
FUZZER_EMAIL = "fuzzer@example.com"


@contextmanager
def served(database_url: str, log_path: Path) -> Iterator[str]:
    """The app migrated and served by `make run` on a free port; its base URL."""
    port = unused_port()
    with log_path.open("wb") as log:
        # A session of its own, so that stopping it stops make, uvicorn and its workers. The
        # arguments are this module's own: nothing a user typed reaches a shell.
        server = subprocess.Popen(  # noqa: S603
            ["make", "--no-print-directory", "run", "HOST=127.0.0.1", f"PORT={port}"],  # noqa: S607
            cwd=PROJECT_ROOT,
            env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _answers(url):
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"make fuzz: the app did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait()


def _answers(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/health", timeout=1).status_code == 200
    except httpx2.TransportError:
        return False


def fuzzer_token(url: str) -> str:
    """The access token of a new ordinary user, signed up and logged in through the API."""
    password = secrets.token_urlsafe(16)
    with httpx2.Client(base_url=url, timeout=10) as client:
        client.post("/users", json={"email": FUZZER_EMAIL, "password": password})
        login = client.post("/auth/token", data={"username": FUZZER_EMAIL, "password": password})
    if login.status_code != 200:
        sys.exit(f"make fuzz: the fuzzer could not log in: {login.status_code} {login.text}")
    token: str = login.json()["access_token"]
    return token


def main(arguments: list[str]) -> int:
    database_url = database_beside("fuzz")
    shown = make_url(database_url).render_as_string(hide_password=True)
    sys.stderr.write(f"make fuzz: serving the app on {shown}\n")
    create_test_database(database_url)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="fuzz-") as directory,
            served(database_url, Path(directory) / "server.log") as url,
        ):
            command = [
                str(SCHEMATHESIS),
                "--config-file",
                str(PROJECT_ROOT / "schemathesis.toml"),
                "run",
                f"{url}/openapi.json",
                "--header",
                f"Authorization: Bearer {fuzzer_token(url)}",
                *arguments,
            ]
            # In the temporary directory: Schemathesis and Hypothesis write their files there.
            # The arguments are the developer's own (FUZZ_ARGS), passed on without a shell.
            return subprocess.run(command, cwd=directory, check=False).returncode  # noqa: S603
    finally:
        remove_test_database(database_url)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
