"""Bake each combination of answers once per session; run the baked projects' own commands."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import create_engine, make_url, text

from tests.mail import free_port, smtp_env
from tests.tcp_proxy import TcpProxy

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DATABASES = ("sqlite", "postgresql")
PRIMARY_KEYS = ("uuid", "int")
SQLALCHEMY_MODES = ("sync", "async")
# What a `make test` of the template passes down: a baked project's make must run as if started
# from a shell (its own variables, `make:` rather than `make[1]:` in its messages).
MAKE_VARIABLES = frozenset({"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"})
# Plugins of the template's environment that a baked project does not use.
FOREIGN_PLUGINS = "-p no:cookies -p no:pytest_benchmark"


@dataclass(frozen=True)
class Combination:
    """One set of answers to the choices."""

    database: str
    primary_key: str
    sqlalchemy_mode: str

    @property
    def id(self) -> str:
        return f"{self.database}-{self.primary_key}-{self.sqlalchemy_mode}"


COMBINATIONS = [
    Combination(database, key, mode)
    for database in DATABASES
    for key in PRIMARY_KEYS
    for mode in SQLALCHEMY_MODES
]


# Resources `make resource` adds to every shared bake, so that the project's lint, suite,
# pre-commit, fuzzing and served tests cover what it writes: every field type and modifier, one
# owned resource and one public one (tests/test_scaffold.py).
SCAFFOLDED = (
    {
        "name": "Note",
        "fields": "title:str body:text? done:bool due:date? price:decimal rank:int! code:str! "
        "starts_at:datetime? ref:uuid label:str?!",
    },
    {"name": "Category", "fields": "name:str! rank:int?", "public": "1"},
)


@dataclass
class Baked:
    """A baked project, with what it needs to run its own commands against a database.

    `pristine` is a copy of the project as cookiecutter wrote it, before `SCAFFOLDED`.
    """

    combination: Combination
    path: Path
    env: dict[str, str]
    pristine: Path | None = None

    def run(
        self,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the project; on failure, the assertion shows its output."""
        result = subprocess.run(
            args,
            cwd=cwd or self.path,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if check:
            assert result.returncode == 0, (
                f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def make(
        self, *targets: str, check: bool = True, **variables: str
    ) -> subprocess.CompletedProcess[str]:
        """Run make targets with the template's tools standing in for the project's virtualenv."""
        assignments = [f"{name}={value}" for name, value in variables.items()]
        return self.run("make", "--no-print-directory", *targets, *assignments, check=check)


def postgres_server_url() -> str | None:
    """The PostgreSQL server the template's tests create databases on, if one is configured."""
    return os.environ.get("TEST_DATABASE_URL") or None


def running_in_ci() -> bool:
    """CI is set to anything but false or 0: services write true, 1 or their own name."""
    return os.environ.get("CI", "").strip().lower() not in {"", "false", "0"}


def require_postgres() -> str:
    """The server URL, or skip (outside CI) / fail (in CI) when there is none."""
    url = postgres_server_url()
    if url:
        return url
    reason = "no PostgreSQL server configured: set TEST_DATABASE_URL to run the PostgreSQL half"
    if running_in_ci():
        pytest.fail(f"CI requires PostgreSQL: {reason}")
    pytest.skip(reason)


def database_url_on_server(server_url: str, name: str) -> str:
    """A URL for database `name` on the server `server_url` points at."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def run_on_server(server_url: str, *statements: str) -> None:
    """Run statements on the server's maintenance database, outside a transaction."""
    engine = create_engine(
        make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` on the server, if it exists."""
    run_on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def recreate_database(server_url: str, name: str) -> None:
    """Create database `name` on the server, empty, dropping any previous one."""
    run_on_server(
        server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )


def combination_params(databases: tuple[str, ...] = DATABASES) -> list[Any]:
    """pytest params for every combination, grouped so that one worker bakes each once."""
    params = []
    for combination in COMBINATIONS:
        if combination.database not in databases:
            continue
        marks = [pytest.mark.xdist_group(combination.id)]
        if combination.database == "postgresql":
            marks.append(pytest.mark.postgresql)
        params.append(pytest.param(combination, id=combination.id, marks=marks))
    return params


@pytest.fixture(scope="session")
def bakes() -> Iterator[dict[Combination, Baked]]:
    """Baked projects by combination, filled lazily; their databases are dropped at the end."""
    cache: dict[Combination, Baked] = {}
    yield cache
    server = postgres_server_url()
    for baked in cache.values():
        test_url = baked.env.get("TEST_DATABASE_URL")
        if server and test_url:
            name = make_url(test_url).database
            for suffix in ("", "_migrations", "_workflow", "_fuzz", "_scaffold", "_resources"):
                drop_database(server, f"{name}{suffix}")


def bake(
    cookies_session: Any,
    tmp_path_factory: pytest.TempPathFactory,
    combination: Combination,
) -> Baked:
    """Bake `combination` and prepare a stand-in virtualenv for its Makefile."""
    result = cookies_session.bake(extra_context=asdict(combination))
    assert result.exit_code == 0, result.exception
    assert result.exception is None
    project = Path(result.project_path)
    # The project's Makefile uses $(VENV)/bin and skips installing when $(VENV)/.installed is
    # newer than pyproject.toml: point it at the template's environment instead.
    venv = tmp_path_factory.mktemp(f"venv-{combination.id}")
    (venv / "bin").symlink_to(VENV_BIN, target_is_directory=True)
    # `$(VENV)/bin/python` finds its packages through these, as in a real virtualenv.
    (venv / "lib").symlink_to(VENV_BIN.parent / "lib", target_is_directory=True)
    (venv / "pyvenv.cfg").symlink_to(VENV_BIN.parent / "pyvenv.cfg")
    (venv / ".installed").touch()
    # Not inherited from the template's run: its databases, its pytest and pytest-xdist
    # variables (the project's suite would believe it runs on a worker already), and
    # PYTHONDONTWRITEBYTECODE: a project keeps its bytecode, as on a developer's machine, or
    # every command (pytest, alembic, uvicorn) recompiles it and re-rewrites its test modules.
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "TEST_DATABASE_URL", "PYTHONDONTWRITEBYTECODE"}
        and name not in MAKE_VARIABLES
        and not name.startswith("PYTEST_")
    }
    env = {
        **inherited,
        "VENV": str(venv),
        "PYTEST_ADDOPTS": FOREIGN_PLUGINS,
        # One cache per xdist worker, shared by its bakes: the libraries are checked once,
        # each project's own modules again (mypy compares their hashes).
        "MYPY_CACHE_DIR": str(tmp_path_factory.getbasetemp() / "mypy-cache"),
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "tests@example.com",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "tests@example.com",
    }
    if combination.database == "postgresql":
        server = require_postgres()
        name = f"tpl_{combination.id.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        env["TEST_DATABASE_URL"] = database_url_on_server(server, name)
    pristine = tmp_path_factory.mktemp(f"pristine-{combination.id}") / project.name
    shutil.copytree(project, pristine)
    baked = Baked(combination, project, env, pristine)
    for resource in SCAFFOLDED:
        baked.make("resource", *(f"{name}={value}" for name, value in resource.items()))
    return baked


@pytest.fixture
def baked(
    request: pytest.FixtureRequest,
    bakes: dict[Combination, Baked],
    cookies_session: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Baked:
    """The project baked for the test's combination (`request.param`), once per session."""
    combination: Combination = request.param
    if combination not in bakes:
        bakes[combination] = bake(cookies_session, tmp_path_factory, combination)
    return bakes[combination]


# Parametrise a test over every combination; it receives the baked project as `baked`.
each_combination = pytest.mark.parametrize("baked", combination_params(), indirect=True)
each_postgresql_combination = pytest.mark.parametrize(
    "baked", combination_params(("postgresql",)), indirect=True
)


# How long a served app's statements may run on PostgreSQL (the role's default, see `serving`).
SERVED_STATEMENT_TIMEOUT_MS = "3000"
# The served projects' token signing key, so that tests can forge what an attacker cannot.
SERVED_SECRET_KEY = "served-test-signing-key-" + "k" * 32
# The one browser origin the served projects allow (CORS).
SERVED_CORS_ORIGIN = "https://app.example.com"


@dataclass
class Served:
    """A served project: its address, the database it serves, and what signs its tokens."""

    url: str
    proxy: TcpProxy | None
    database_url: str
    secret_key: str
    log_path: Path


@pytest.fixture(scope="session")
def servers() -> Iterator[tuple[ExitStack, dict[Combination, Served]]]:
    """Servers by combination, started on first use and stopped at the end of the session."""
    with ExitStack() as stack:
        yield stack, {}


@pytest.fixture
def served(
    baked: Baked,
    servers: tuple[ExitStack, dict[Combination, Served]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Served:
    """The project served for the test's combination, one server per combination."""
    stack, running = servers
    if baked.combination not in running:
        directory = tmp_path_factory.mktemp(f"served-{baked.combination.id}")
        running[baked.combination] = stack.enter_context(serving(baked, directory))
    return running[baked.combination]


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """Stop `process` and everything it started (it leads a session): make, uvicorn, workers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    # Whatever ignored SIGTERM, or outlived make, does not outlive the test.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def serving(
    baked: Baked,
    directory: Path,
    *,
    workers: int = 1,
    database_address: tuple[str, int] | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Served]:
    """The project migrated and served by `make run` on a free port.

    PostgreSQL is reached through a proxy, which forwards to the server, or to `database_address`
    (a PgBouncer in front of it); the migrations always run on the server directly. `env` adds to
    the server's environment.
    """
    proxy: TcpProxy | None = None
    database_name = ""
    if baked.combination.database == "postgresql":
        server = postgres_server_url()
        assert server is not None
        # One database per server: a second server of the same project (behind PgBouncer, with
        # several workers) must not drop the database the shared one is serving.
        database_name = (
            f"{make_url(baked.env['TEST_DATABASE_URL']).database}_served_{uuid.uuid4().hex[:6]}"
        )
        recreate_database(server, database_name)
        direct = make_url(server).set(database=database_name)
        proxy = TcpProxy(*(database_address or (direct.host or "127.0.0.1", direct.port or 5432)))
        proxy.start()
        migrate_url = direct.render_as_string(hide_password=False)
        serve_url = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
    else:
        migrate_url = serve_url = f"sqlite:///{directory / 'served.db'}"
    baked.run(
        str(Path(baked.env["VENV"]) / "bin/alembic"),
        "-c",
        "backend/alembic.ini",
        "upgrade",
        "head",
        # The migrations give the app's role its statement timeout, as the server's will.
        env={"DATABASE_URL": migrate_url, "DB_STATEMENT_TIMEOUT_MS": SERVED_STATEMENT_TIMEOUT_MS},
    )
    port = free_port()
    server_env = {
        **baked.env,
        "DATABASE_URL": serve_url,
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": SERVED_SECRET_KEY,
        "CORS_ORIGINS": SERVED_CORS_ORIGIN,
        # Argon2 at full strength would make 50 sign-ups a benchmark, not a test.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        # Short limits, so that the fault tests wait seconds, not minutes; long enough that 50
        # sign-ups racing for one email on a busy machine still end in 409s, not timeouts. (The
        # connect timeout keeps its default of 5 s: through the test's proxy, on a loaded
        # machine, a connection can take longer than 2 s to open.)
        "DB_STATEMENT_TIMEOUT_MS": SERVED_STATEMENT_TIMEOUT_MS,
        "DB_BUSY_TIMEOUT_MS": "3000",
        # A session time zone other than UTC: timestamps must come back in UTC all the same.
        "PGTZ": "Europe/Berlin",
        # The tests are the proxy: each plays clients at addresses of its own (X-Forwarded-For),
        # so that failed logins in one test never throttle another's.
        "TRUSTED_PROXIES": "127.0.0.1",
        # Email goes to the test process's SMTP server (tests/mail.py).
        **smtp_env(),
        **(env or {}),
    }
    log_path = directory / "server.log"
    with log_path.open("wb") as log:
        # Its own session, so that stopping it stops make, uvicorn and every worker together.
        process = subprocess.Popen(
            [
                "make",
                "--no-print-directory",
                "run",
                "HOST=127.0.0.1",
                f"PORT={port}",
                f"WORKERS={workers}",
            ],
            cwd=baked.path,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert process.poll() is None, f"the server exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, "the server did not start within 30 s"
            time.sleep(0.1)
        yield Served(url, proxy, migrate_url, SERVED_SECRET_KEY, log_path)
    finally:
        stop_process_group(process)
        if proxy is not None:
            proxy.stop()
            server = postgres_server_url()
            assert server is not None
            drop_database(server, database_name)
