"""The baked projects: baking, the environment they run in, migrations, and logging in."""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import jwt

from .config import (
    ACCESS_TOKEN_MINUTES,
    BAKE_TIMEOUT_S,
    EXPECTED_USER_KEYS,
    MIGRATE_TIMEOUT_S,
    PASSWORD,
    SECRET_KEY,
    VENV_BIN,
    BenchError,
)
from .databases import UserRow, sqlalchemy_url
from .servers import Server, http_request, run_command

# Settings of the baked project that the caller's environment must not change: the bench runs
# the project at its defaults, whatever the shell it was started from exports.
PROJECT_SETTINGS = (
    "DATABASE_URL",
    "TEST_DATABASE_URL",
    "ENVIRONMENT",
    "LOG_LEVEL",
    "SECRET_KEY",
    "SECRET_KEY_PREVIOUS",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "REFRESH_TOKEN_EXPIRE_DAYS",
    "SESSION_MAX_DAYS",
    "SESSIONS_MAX_PER_USER",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "LOGIN_MAX_FAILURES_PER_ACCOUNT",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "LOGIN_FAILURE_WINDOW_MINUTES",
    "TRUSTED_PROXIES",
    "ARGON2_TIME_COST",
    "ARGON2_MEMORY_COST_KIB",
    "ARGON2_PARALLELISM",
    "PASSWORD_HASH_CONCURRENCY",
    "PASSWORD_MIN_LENGTH",
    "PASSWORD_MAX_LENGTH",
    "MAX_REQUEST_BODY_BYTES",
    "DB_POOL_SIZE",
    "DB_MAX_OVERFLOW",
    "DB_POOL_TIMEOUT",
    "DB_CONNECT_TIMEOUT",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_TCP_USER_TIMEOUT_MS",
    "DB_PREPARED_STATEMENTS",
)
# What `make bench` passes down to its children: a `make test` started with them is a sub-make
# (its messages say `make[2]:` instead of `make:`), unlike the one a developer runs.
MAKE_VARIABLES = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")


def template_modes(template: Path) -> tuple[list[str], bool]:
    """The `sqlalchemy_mode` choices of cookiecutter.json, or (["sync"], False) without one."""
    answers = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    modes = answers.get("sqlalchemy_mode")
    if modes is None:
        return ["sync"], False
    if isinstance(modes, str):
        return [modes], True
    return [str(mode) for mode in modes], True


def template_revision(template: Path) -> str:
    """The template's commit, and whether its files outside bench/ differ; "" without git."""
    try:
        commit = run_command(
            ["git", "rev-parse", "--short", "HEAD"], cwd=template, timeout=30, what="git rev-parse"
        ).stdout.strip()
        changes = run_command(
            ["git", "status", "--porcelain", "--", ".", ":(exclude)bench"],
            cwd=template,
            timeout=30,
            what="git status",
        ).stdout.strip()
    except (BenchError, OSError):
        return ""
    return f"{commit}, " + ("files outside bench/ changed" if changes else "as committed")


def bake(template: Path, workdir: Path, label: str, answers: dict[str, str]) -> Path:
    """Bake `template` (this one, or the baseline) with `answers` into a directory of its own."""
    output = workdir / f"bake-{label}"
    extra = [f"{key}={value}" for key, value in answers.items()]
    run_command(
        [VENV_BIN / "cookiecutter", "--no-input", "-o", output, template, *extra],
        cwd=workdir,
        timeout=BAKE_TIMEOUT_S,
        what=f"bake {label} ({' '.join(extra)})",
    )
    projects = [path for path in output.iterdir() if path.is_dir()]
    if len(projects) != 1:
        raise BenchError(f"bake {label}: expected one project in {output}, found {projects}")
    return projects[0]


def mode_answers(mode: str, database: str, *, mode_is_choice: bool) -> dict[str, str]:
    answers = {"database": database, "primary_key": "uuid"}
    if mode_is_choice:
        answers["sqlalchemy_mode"] = mode
    return answers


def base_env() -> dict[str, str]:
    """The caller's environment without the project's settings and without make's variables."""
    env = dict(os.environ)
    for name in (*PROJECT_SETTINGS, *MAKE_VARIABLES):
        env.pop(name, None)
    return env


def app_env(database: str) -> dict[str, str]:
    # ENVIRONMENT=production (or staging) refuses the placeholder password of .env.example;
    # "development" with WARNING logs (so no access log lines) is the closest allowed. A fixed
    # SECRET_KEY all the same, as a deployment has one.
    return base_env() | {
        "DATABASE_URL": sqlalchemy_url(database),
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": SECRET_KEY,
        "ACCESS_TOKEN_EXPIRE_MINUTES": str(ACCESS_TOKEN_MINUTES),
    }


def server_options(project: Path) -> list[str]:
    """The uvicorn options `make run` adds (its SERVER_OPTIONS): the server as deployed."""
    makefile = (project / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    for line in makefile.splitlines():
        name, _, value = line.partition(":=")
        if name.strip() == "SERVER_OPTIONS":
            return value.split()
    raise BenchError(f"{project}/Makefile: no SERVER_OPTIONS")


def migrate(project: Path, database: str) -> None:
    run_command(
        [VENV_BIN / "alembic", "-c", "backend/alembic.ini", "upgrade", "head"],
        cwd=project,
        env=app_env(database),
        timeout=MIGRATE_TIMEOUT_S,
        what=f"migrate {database}",
    )


def password_login(server: Server, path: str, username: str) -> dict[str, Any]:
    """POST `path` with the OAuth2 password form: the token response, checked to be a bearer's."""
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD}).encode()
    status, body = http_request(
        server.port,
        "POST",
        path,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=form,
    )
    if status != 200:
        raise BenchError(f"{server.label}: POST {path} -> {status} {body[:300]!r}")
    payload: dict[str, Any] = json.loads(body)
    if str(payload.get("token_type", "")).lower() != "bearer" or not payload.get("access_token"):
        raise BenchError(f"{server.label}: unexpected POST {path} keys {sorted(payload)}")
    return payload


def log_in(server: Server, user: UserRow) -> str:
    """POST /auth/token as `user` (the OAuth2 password form): the Authorization header value."""
    payload = password_login(server, "/auth/token", user.email)
    if int(payload.get("expires_in", 0)) < ACCESS_TOKEN_MINUTES * 60:
        raise BenchError(f"{server.label}: the access token expires in {payload['expires_in']} s")
    return f"Bearer {payload['access_token']}"


def token_env(bearer: str) -> dict[str, str]:
    """What the bench's own apps need to accept a project's token: its key, issuer, audience.

    The issuer and audience are read from the token itself (the project's JWT_ISSUER and
    JWT_AUDIENCE, its slug by default); the key is the bench's SECRET_KEY, which signed it.
    """
    token = bearer.removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    try:
        return {
            "BENCH_JWT_KEY": SECRET_KEY,
            "BENCH_JWT_ISSUER": str(claims["iss"]),
            "BENCH_JWT_AUDIENCE": str(claims["aud"]),
        }
    except KeyError as error:
        raise BenchError(f"the project's access token has no {error} claim") from error


def check_user_response(
    server: Server, path: str, user: UserRow, *, authenticated: bool = True
) -> None:
    """`path` must answer 200 with `user`'s keys and values, before any load.

    Authenticated (with the server's bearer token), the same request without the token must
    answer 401: what is measured is the authenticated path.
    """
    user_id, email = str(user.id), user.email
    headers = server.auth_headers if authenticated else {}
    status, body = http_request(server.port, "GET", path, headers=headers)
    if status != 200:
        raise BenchError(f"{server.label}: GET {path} -> {status} {body[:300]!r}")
    payload = json.loads(body)
    if set(payload) != EXPECTED_USER_KEYS or payload["id"] != user_id or payload["email"] != email:
        raise BenchError(f"{server.label}: unexpected GET {path} body {payload!r}")
    if authenticated:
        status, body = http_request(server.port, "GET", path)
        if status != 401:
            raise BenchError(f"{server.label}: GET {path} without a token -> {status}")
