"""The served project under abuse and faults, as an outsider would meet it over HTTP."""

from __future__ import annotations

import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import (
    VENV_BIN,
    Baked,
    Served,
    combination_params,
    each_combination,
)
from tests.test_replicas import only

PASSWORD = "correct-horse-9"
SECRETS = ("victim@example.com", "victim-password-1", "$argon2id$")
UTC_TIMESTAMP = re.compile(r"(Z|\+00:00)$")


def signed_in(client: httpx2.Client, email: str) -> dict[str, str]:
    client.post("/users", json={"email": email, "password": PASSWORD})
    token = client.post("/auth/token", data={"username": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def log_lines_since(served: Served, offset: int) -> list[str]:
    return served.log_path.read_text(encoding="utf-8", errors="replace")[offset:].splitlines()


@each_combination
def test_sizes_and_odd_text_get_small_clean_4xx(served: Served) -> None:
    def chunked() -> Iterator[bytes]:
        yield b'{"email": "'
        for _ in range(1024):
            yield b"a" * 1024
        yield b'@example.com", "password": "x"}'

    json_headers = {"Content-Type": "application/json"}
    with httpx2.Client(base_url=served.url, timeout=30) as client:
        huge = client.post("/users", json={"email": "a" * 3_000_000 + "@x.com", "password": "x"})
        streamed = client.post("/users", content=chunked(), headers=json_headers)
        long_fields = client.post("/users", json={"email": "a" * 30_000, "password": "b" * 30_000})
        surrogate = client.post(
            "/users",
            content=b'{"email": "s@example.com", "password": "\\ud800-long-enough"}',
            headers=json_headers,
        )
        not_utf8 = client.post(
            "/users", content=b'{"email": "\xff\xfe@example.com"}', headers=json_headers
        )
        created = client.post("/users", json={"email": "utc@example.com", "password": PASSWORD})
        me = client.get("/users/me", headers=signed_in(client, "utc@example.com"))

    assert huge.status_code == streamed.status_code == 413
    assert huge.json()["code"] == "request_too_large"
    assert long_fields.status_code == 422
    assert len(long_fields.content) < 4096
    assert surrogate.status_code == not_utf8.status_code == 422
    # Whatever the session's time zone (PGTZ=Europe/Berlin here), timestamps come back in UTC.
    for body in (created.json(), me.json()):
        assert UTC_TIMESTAMP.search(body["created_at"]), body
        assert UTC_TIMESTAMP.search(body["updated_at"]), body
    assert me.json()["created_at"] == created.json()["created_at"]


# Eleven seconds each: both modes (their engines fail differently) and both key types.
@only("postgresql-uuid-sync", "postgresql-int-async")
def test_a_database_that_is_down_stalled_or_locked_is_a_quick_quiet_503(served: Served) -> None:
    proxy = served.proxy
    assert proxy is not None
    offset = served.log_path.stat().st_size
    timings: dict[str, tuple[int, float]] = {}
    with httpx2.Client(base_url=served.url, timeout=30) as client:
        headers = signed_in(client, "reader@example.com")
        victim = {"email": SECRETS[0], "password": SECRETS[1]}

        def timed(name: str, method: str, path: str, **options: Any) -> None:
            started = time.monotonic()
            response = client.request(method, path, **options)
            timings[name] = (response.status_code, time.monotonic() - started)
            if response.status_code == 503:
                assert response.json()["code"] == "database_unavailable"
                assert response.headers["Retry-After"] == "1"

        try:
            proxy.stop()
            timed("down: sign-up", "POST", "/users", json=victim)
            timed("down: me", "GET", "/users/me", headers=headers)
            proxy.start(stalled=True)
            timed("stalled: sign-up", "POST", "/users", json=victim)
        finally:
            proxy.stop()
            proxy.start()
        # A server that answers but is blocked on a lock: the statement timeout (3 s here).
        locker = create_engine(served.database_url)
        with locker.connect() as connection:
            connection.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
            timed("locked: sign-up", "POST", "/users", json=victim)
            # A read runs without a transaction of its own: the role's timeout bounds it too.
            timed("locked: me", "GET", "/users/me", headers=headers)
            connection.rollback()
        locker.dispose()
        timed("back: sign-up", "POST", "/users", json=victim)
    logged = log_lines_since(served, offset)

    assert {name: status for name, (status, _) in timings.items()} == {
        "down: sign-up": 503,
        "down: me": 503,
        "stalled: sign-up": 503,
        "locked: sign-up": 503,
        "locked: me": 503,
        "back: sign-up": 201,
    }
    # DB_CONNECT_TIMEOUT=5 (the default) and DB_STATEMENT_TIMEOUT_MS=3000 when served.
    assert timings["stalled: sign-up"][1] < 9, timings
    assert 3 <= timings["locked: sign-up"][1] < 6, timings
    assert 3 <= timings["locked: me"][1] < 6, timings
    unavailable = [line for line in logged if "Database unavailable" in line]
    assert len(unavailable) == 5, logged
    assert all(re.search(r"\[[0-9a-f]{32}\]", line) for line in unavailable), unavailable
    assert not [line for line in logged if "Traceback" in line or "ERROR" in line], logged
    for secret in SECRETS:
        assert not [line for line in logged if secret in line], secret


@pytest.mark.parametrize("baked", combination_params(("sqlite",)), indirect=True)
def test_a_locked_sqlite_file_is_a_503_after_the_busy_timeout(served: Served, baked: Baked) -> None:
    database = Path(served.database_url.removeprefix("sqlite:///"))
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with httpx2.Client(base_url=served.url, timeout=30) as client:
            started = time.monotonic()
            locked = client.post("/users", json={"email": SECRETS[0], "password": SECRETS[1]})
            waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert locked.status_code == 503, locked.text
    assert locked.json()["code"] == "database_unavailable"
    assert 3 <= waited < 6  # DB_BUSY_TIMEOUT_MS=3000 in the served environment
    assert baked.combination.database == "sqlite"


WEAK_PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "too-short",
    "ARGON2_MEMORY_COST_KIB": "8",
    "PASSWORD_MIN_LENGTH": "8",
    "LOG_LEVEL": "warning",
}


@each_combination
def test_production_refuses_weak_settings_in_one_line_each(baked: Baked) -> None:
    environment = dict(WEAK_PRODUCTION)
    if baked.combination.database == "postgresql":
        environment["DATABASE_URL"] = "postgresql://app:changeme@db.invalid/app"
    started = time.monotonic()
    result = baked.run(
        str(VENV_BIN / "uvicorn"),
        "--factory",
        "app.main:create_app",
        "--app-dir",
        "backend",
        check=False,
        env=environment,
    )

    problems = [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "Traceback" not in result.stderr
    assert "too-short" not in result.stderr
    assert "changeme" not in result.stderr
    expected = [
        "SECRET_KEY: must be at least 32 bytes long",
        # The generated .env names no mail server: `make run` logs the emails instead.
        "SMTP_HOST: required in production",
        "ARGON2_MEMORY_COST_KIB: at least 19456 in production",
    ]
    if baked.combination.database == "postgresql":
        expected.insert(0, "DATABASE_URL: the password is a well-known default")
    assert [problem[: len(line)] for problem, line in zip(problems, expected, strict=True)] == (
        expected
    )


@pytest.mark.parametrize("baked", combination_params(("sqlite",))[:2], indirect=True)
def test_the_root_and_backend_find_the_same_env_and_sqlite_file(
    baked: Baked, tmp_path: Path
) -> None:
    project = Path(shutil.copytree(baked.path, tmp_path / baked.path.name))
    copy = Baked(baked.combination, project, baked.env)
    alembic = str(VENV_BIN / "alembic")
    read_url = [
        str(VENV_BIN / "python"),
        "-c",
        "from app.core.config import get_settings; print(get_settings().DATABASE_URL)",
    ]

    copy.run(alembic, "-c", "alembic.ini", "upgrade", "head", cwd=project / "backend")
    from_backend = copy.run(*read_url, cwd=project / "backend").stdout.strip()
    from_root = copy.run(*read_url, env={"PYTHONPATH": "backend"}).stdout.strip()

    database_file = f"{baked.path.name}.db"
    assert (project / database_file).is_file()
    assert not (project / "backend" / database_file).exists()
    assert from_backend == from_root
    assert from_root.endswith(f"{project}/{database_file}")
