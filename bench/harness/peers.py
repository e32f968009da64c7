"""The peers the projects are measured against: the raw app, the tutorial apps, and FSFT.

The raw app (bench/reference_app.py) and the tutorial-style apps (bench/tutorial_app_<mode>.py)
run from bench/ on this virtualenv, each on a database of its own with the projects' rows, and
accept the token a login to a project gives (same key, issuer and audience). They configure no
logging, so uvicorn's flags hold: no access log, warnings only.

The peer full-stack-fastapi-template (FSFT) is set up outside this repository. Its source comes
from the checkout PEER_FSFT (or --peer-fsft) names, never from this repository. Its backend/ is
copied into the run's temporary directory (so that nothing is written into the checkout and its
`../.env` is not read: every setting comes from the environment given here), with a virtualenv
of its own next to it: uv pip-installed from PyPI, then `uv pip install -r pyproject.toml`: the
only downloads of a run. It gets a database of its own, migrated by its Alembic, with the
superuser its `app/initial_data.py` creates, and is served by its own uvicorn, one worker, no
access log, warnings only (it configures no logging itself, so uvicorn's flags hold).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .config import (
    BENCH_DIR,
    FSFT,
    FSFT_API,
    FSFT_COMMIT,
    FSFT_DATABASE,
    FSFT_HEALTH,
    FSFT_SUPERUSER,
    HOST,
    MIGRATE_TIMEOUT_S,
    PASSWORD,
    PEER_INSTALL_TIMEOUT_S,
    PG_SERVER,
    RAW_DIR,
    REFERENCE,
    SECRET_KEY,
    TUTORIAL,
    VENV_BIN,
    VENV_TIMEOUT_S,
    BenchError,
    log,
)
from .databases import create_database, drop_database, sqlalchemy_url
from .projects import base_env, password_login
from .servers import Server, http_request, run_command, start_server

# FSFT's settings (its app/core/config.py) and uv's: the caller's values never reach the peer.
FSFT_SETTINGS = (
    "API_V1_STR",
    "SECRET_KEY",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "FRONTEND_HOST",
    "ENVIRONMENT",
    "BACKEND_CORS_ORIGINS",
    "PROJECT_NAME",
    "SENTRY_DSN",
    "POSTGRES_SERVER",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "SMTP_TLS",
    "SMTP_SSL",
    "SMTP_PORT",
    "SMTP_HOST",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "EMAILS_FROM_EMAIL",
    "EMAILS_FROM_NAME",
    "EMAIL_RESET_TOKEN_EXPIRE_HOURS",
    "EMAIL_TEST_USER",
    "FIRST_SUPERUSER",
    "FIRST_SUPERUSER_PASSWORD",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "UV_PYTHON",
    "UV_PROJECT_ENVIRONMENT",
    "UV_SYSTEM_PYTHON",
)
# Reported with the peer: what it ran on.
FSFT_PACKAGES = ("fastapi", "starlette", "sqlmodel", "sqlalchemy", "pydantic", "psycopg", "uvicorn")
COPY_IGNORED = (".venv", "__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache", ".ruff_cache")


def serve_bench_app(
    label: str, app: str, env: dict[str, str], stack: contextlib.ExitStack, *, factory: bool
) -> Server:
    """One of bench/'s apps under uvicorn, one worker, no access log, warnings only."""
    command: list[str | Path] = [VENV_BIN / "uvicorn", *(["--factory"] if factory else [])]
    command += ["--workers", "1", "--app-dir", BENCH_DIR, "--no-access-log"]
    command += ["--log-level", "warning", app]
    return start_server(label, command, cwd=BENCH_DIR, env=base_env() | env, stack=stack)


def serve_reference(
    database: str, token_env: dict[str, str], stack: contextlib.ExitStack
) -> Server:
    """The raw app on `database` (a libpq URL for its psycopg pool)."""
    env = token_env | {"REFERENCE_DATABASE_URL": f"{PG_SERVER}/{database}"}
    return serve_bench_app(REFERENCE, "reference_app:create_app", env, stack, factory=True)


def serve_tutorial(
    mode: str, database: str, token_env: dict[str, str], stack: contextlib.ExitStack
) -> Server:
    """The tutorial-style app of `mode` on `database` (a SQLAlchemy URL, psycopg driver)."""
    module = f"tutorial_app_{mode}"
    if not (BENCH_DIR / f"{module}.py").is_file():
        raise BenchError(f"no bench/{module}.py for the {mode} mode")
    env = token_env | {"TUTORIAL_DATABASE_URL": sqlalchemy_url(database)}
    return serve_bench_app(f"{TUTORIAL}{mode}", f"{module}:app", env, stack, factory=False)


@dataclass
class Peer:
    """FSFT, ready to serve: its backend's copy, its virtualenv, what it is."""

    backend: Path
    venv: Path
    description: str  # the checkout, its commit, the versions installed

    @property
    def env(self) -> dict[str, str]:
        """FSFT's settings, all from here: its own database, the bench's signing key."""
        env = base_env()
        for name in FSFT_SETTINGS:
            env.pop(name, None)
        return env | {
            # `app` is imported from the backend's copy, as the image's installed project is.
            "PYTHONPATH": str(self.backend),
            "PROJECT_NAME": "FSFT (bench)",
            "ENVIRONMENT": "local",
            "SECRET_KEY": SECRET_KEY,
            "POSTGRES_SERVER": HOST,
            "POSTGRES_PORT": "5432",
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": FSFT_DATABASE,
            "FIRST_SUPERUSER": FSFT_SUPERUSER,
            "FIRST_SUPERUSER_PASSWORD": PASSWORD,
        }


def fsft_backend(path: Path) -> Path:
    """The backend/ folder of an FSFT checkout, or `path` itself when it is that folder."""
    for candidate in (path / "backend", path):
        if all(
            (candidate / name).is_file()
            for name in ("app/main.py", "app/initial_data.py", "pyproject.toml", "alembic.ini")
        ):
            return candidate.resolve()
    raise BenchError(
        f"PEER_FSFT / --peer-fsft {path}: not a full-stack-fastapi-template checkout "
        "(no backend/app/main.py, app/initial_data.py, pyproject.toml, alembic.ini)"
    )


def checkout_commit(path: Path) -> str:
    """The checkout's commit (abbreviated), or "" when it is not a git checkout."""
    try:
        result = run_command(
            ["git", "rev-parse", "--short=8", "HEAD"], cwd=path, timeout=30, what="git rev-parse"
        )
    except (BenchError, OSError):
        return ""
    return result.stdout.strip()


def set_up_fsft(source: Path, workdir: Path, stack: contextlib.ExitStack) -> Peer:
    """Copy FSFT's backend, install it in a virtualenv, migrate its database, add its superuser."""
    backend_source = fsft_backend(source)
    commit = checkout_commit(backend_source)
    root = workdir / "fsft"
    backend = root / "backend"
    log(f"{FSFT}: copy {backend_source} (commit {commit or '?'}) into {root}")
    shutil.copytree(backend_source, backend, ignore=shutil.ignore_patterns(*COPY_IGNORED))
    venv = root / "venv"
    python = venv / "bin" / "python"
    install_log = RAW_DIR / f"{FSFT}-install.log"
    log(f"{FSFT}: virtualenv, uv, uv pip install -r pyproject.toml (from PyPI)")
    run_command(
        [sys.executable, "-m", "venv", venv], cwd=root, timeout=VENV_TIMEOUT_S, what="FSFT venv"
    )
    run_command(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"],
        cwd=root,
        env=base_env(),
        timeout=VENV_TIMEOUT_S,
        what="pip install uv (FSFT)",
    )
    installed = run_command(
        [venv / "bin" / "uv", "pip", "install", "--python", python, "-r", "pyproject.toml"],
        cwd=backend,
        env=base_env(),
        timeout=PEER_INSTALL_TIMEOUT_S,
        what="uv pip install -r pyproject.toml (FSFT)",
    )
    install_log.write_text(installed.stdout + installed.stderr, encoding="utf-8")
    peer = Peer(backend, venv, "")
    stack.callback(drop_database, FSFT_DATABASE)
    create_database(FSFT_DATABASE)
    log(f"{FSFT}: alembic upgrade head, app/initial_data.py into {FSFT_DATABASE}")
    run_command(
        [venv / "bin" / "alembic", "upgrade", "head"],
        cwd=backend,
        env=peer.env,
        timeout=MIGRATE_TIMEOUT_S,
        what=f"FSFT alembic upgrade head ({FSFT_DATABASE})",
    )
    run_command(
        [python, "app/initial_data.py"],
        cwd=backend,
        env=peer.env,
        timeout=MIGRATE_TIMEOUT_S,
        what="FSFT app/initial_data.py",
    )
    versions = run_command(
        [
            python,
            "-c",
            "import importlib.metadata as m, sys; "
            "print(', '.join(f'{n} {m.version(n)}' for n in sys.argv[1:]))",
            *FSFT_PACKAGES,
        ],
        cwd=root,
        timeout=60,
        what="FSFT package versions",
    ).stdout.strip()
    at = f"commit {commit}" if commit else "not a git checkout"
    if not commit.startswith(FSFT_COMMIT):
        at += f" (**issue 16 names {FSFT_COMMIT}**)"
    peer.description = f"{backend_source} at {at}; {versions}"
    return peer


def serve_fsft(peer: Peer, stack: contextlib.ExitStack) -> Server:
    """`uvicorn app.main:app` from its backend, one worker, no access log, warnings only."""
    command: list[str | Path] = [peer.venv / "bin" / "uvicorn", "app.main:app"]
    command += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    return start_server(
        FSFT,
        command,
        cwd=peer.backend,
        env=peer.env,
        stack=stack,
        health=FSFT_HEALTH,
        prefix=FSFT_API,
    )


def log_in_fsft(server: Server) -> None:
    """Its login (the OAuth2 password form, as FIRST_SUPERUSER); GET /users/me checked with it.

    `server.bearer` is set to the token; without it, GET /users/me must answer 401.
    """
    payload = password_login(server, f"{FSFT_API}/login/access-token", FSFT_SUPERUSER)
    server.bearer = f"Bearer {payload['access_token']}"
    path = f"{FSFT_API}/users/me"
    status, body = http_request(server.port, "GET", path, headers=server.auth_headers)
    if status != 200 or json.loads(body).get("email") != FSFT_SUPERUSER:
        raise BenchError(f"{FSFT}: GET {path} -> {status} {body[:300]!r}")
    status, _ = http_request(server.port, "GET", path)
    if status != 401:
        raise BenchError(f"{FSFT}: GET {path} without a token -> {status}")
