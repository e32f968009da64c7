"""Benchmark the baked projects against a bare reference app; write bench/RESULTS.md.

Run from the template's root with its virtualenv (`make bench` does this):

    .venv/bin/python bench/run.py [--with-template-suite] [--duration 10] [--rounds 3] ...

Bakes one PostgreSQL project per `sqlalchemy_mode` of cookiecutter.json (or a single "sync"
project when the template has no such choice), gives each a fresh database with the same rows,
serves each with uvicorn (one worker) next to `bench/reference_app.py`, and drives them over
HTTP on 127.0.0.1 with wrk (or, without wrk, a Python load generator). Then it times each baked
project's own test suite (PostgreSQL and SQLite), and optionally the template's `make test`.
Every server, database and temporary directory it creates is removed on exit, error or not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import http.client
import importlib.metadata
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import httpx2
import psycopg
from argon2 import PasswordHasher
from psycopg import sql

# uvloop (installed with uvicorn[standard]) makes the Python generator ~25 % faster.
LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None
try:
    import uvloop

    LOOP_FACTORY = uvloop.new_event_loop
except ImportError:  # pragma: no cover - plain asyncio then
    LOOP_FACTORY = None

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
# Hand-written analysis of the gaps, copied into RESULTS.md under the tables.
ANALYSIS = BENCH_DIR / "ANALYSIS.md"
RAW_DIR = BENCH_DIR / "results" / "last"  # git-ignored: raw wrk output, server and suite logs
VENV_BIN = Path(sys.executable).parent  # the virtualenv running this script has every tool
HOST = "127.0.0.1"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"  # libpq URL; SQLAlchemy's adds +psycopg
MAINTENANCE_DB = "postgres"
REFERENCE = "reference"

GET_USER = "GET /users/{id}"
GET_HEALTH = "GET /health"
POST_USER = "POST /users"

# Targets (see bench/README.md).
TARGET_RATIOS = {"async": 0.5, "sync": 0.3}  # GET /users/{id} req/s over the reference's
TARGET_MEMORY_GROWTH_PCT = 5.0
TARGET_SUITE_SQLITE_S = 5.0
TARGET_SUITE_POSTGRESQL_S = 8.0
TARGET_TEMPLATE_SUITE_S = 180.0

# Time bounds of every step.
BAKE_TIMEOUT_S = 120
MIGRATE_TIMEOUT_S = 120
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 15.0
SUITE_TIMEOUT_S = 900
TEMPLATE_SUITE_TIMEOUT_S = 3600
LOAD_SLACK_S = 120.0  # on top of a load run's planned duration

EXPECTED_USER_KEYS = {"id", "email", "is_active", "created_at", "updated_at"}
PASSWORD = "bench-password"  # noqa: S105 - the password of the benchmark's fake users
FIRST_CREATED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

STARTED = time.perf_counter()


def log(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:6.0f}s] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


# --------------------------------------------------------------------------------------------
# Settings and results


@dataclass
class Settings:
    template: Path
    modes: list[str]
    mode_is_choice: bool
    rows: int
    duration_s: float
    rounds: int
    post_duration_s: float
    connections: int
    post_connections: int
    threads: int
    memory_requests: int
    generator: str  # "wrk" or "python"
    with_suites: bool
    with_template_suite: bool
    results_path: Path


@dataclass
class LoadResult:
    generator: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class LoadSummary:
    """Several runs of one load: medians, and the spread of requests/s."""

    runs: list[LoadResult]

    @property
    def rps(self) -> float:
        return statistics.median(run.rps for run in self.runs)

    @property
    def rps_range(self) -> str:
        if len(self.runs) == 1:
            return ""
        return f"{min(r.rps for r in self.runs):,.0f}-{max(r.rps for r in self.runs):,.0f}"

    @property
    def p50_ms(self) -> float:
        return statistics.median(run.p50_ms for run in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(run.p99_ms for run in self.runs)

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(run.errors for run in self.runs)


@dataclass
class ServerResult:
    label: str
    cold_start_s: float
    rss_start_kib: int = 0
    rss_first_kib: int = 0
    rss_second_kib: int = 0
    pg_sessions: int = -1  # PostgreSQL sessions the server opened while serving
    loads: dict[str, LoadSummary] = field(default_factory=dict)

    @property
    def memory_growth_pct(self) -> float:
        if not self.rss_first_kib:
            return math.nan
        return (self.rss_second_kib - self.rss_first_kib) / self.rss_first_kib * 100

    def add(self, name: str, run: LoadResult) -> None:
        self.loads.setdefault(name, LoadSummary([])).runs.append(run)


@dataclass
class SuiteResult:
    label: str
    seconds: float
    returncode: int
    summary: str


@dataclass
class Outcome:
    servers: list[ServerResult] = field(default_factory=list)
    suites: list[SuiteResult] = field(default_factory=list)
    template_suite: SuiteResult | None = None
    load_before: str = ""
    load_after: str = ""


@dataclass
class Target:
    name: str
    measured: str
    threshold: str
    met: bool | None  # None: not measured

    @property
    def status(self) -> str:
        if self.met is None:
            return "not measured"
        return "met" if self.met else "**NOT MET**"


# --------------------------------------------------------------------------------------------
# Processes


def run_command(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float,
    what: str,
    log_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; raise BenchError (with its output) when it fails."""
    try:
        result = subprocess.run(
            [str(arg) for arg in args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"{what}: still running after {timeout:.0f} s") from error
    if log_path is not None:
        log_path.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise BenchError(f"{what}: exit status {result.returncode}\n{tail}")
    return result


@dataclass
class Server:
    label: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    cold_start_s: float = 0.0
    stopped: bool = False

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def health_status(port: int) -> int | None:
    """The status of GET /health, or None when nothing answers yet."""
    connection = http.client.HTTPConnection(HOST, port, timeout=2.0)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def start_server(
    label: str,
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: dict[str, str],
    stack: contextlib.ExitStack,
) -> Server:
    """Start a server, wait for its first 200 on /health; the time taken is its cold start."""
    port = free_port()
    log_path = RAW_DIR / f"server-{label}.log"
    log_file = stack.enter_context(log_path.open("wb"))
    command = [str(arg) for arg in args] + ["--host", HOST, "--port", str(port)]
    started = time.perf_counter()
    # A session of its own, so that stopping it stops whatever it spawned too.
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(label=label, process=process, port=port, log_path=log_path)
    stack.callback(stop_server, server)
    deadline = started + SERVER_START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise BenchError(
                f"{label}: the server exited ({process.returncode})\n{log_tail(server)}"
            )
        if health_status(port) == 200:
            server.cold_start_s = time.perf_counter() - started
            return server
        time.sleep(0.005)
    raise BenchError(f"{label}: no 200 on /health within {SERVER_START_TIMEOUT_S:.0f} s")


def log_tail(server: Server) -> str:
    with contextlib.suppress(OSError):
        return server.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
    return ""


def stop_server(server: Server) -> None:
    """SIGTERM the server's process group, SIGKILL it if it lingers."""
    if server.stopped:
        return
    server.stopped = True
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=SERVER_STOP_TIMEOUT_S)
    else:
        # The leader is gone; make sure nothing it spawned outlives it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children += [int(child) for child in (task / "children").read_text().split()]
    return children


def serving_pid(server: Server) -> int:
    """The process that answers requests.

    With `--workers 1` uvicorn serves in the process it was started as (no supervisor); with
    more workers, or `--reload`, that process only supervises and a child serves.
    """
    children = child_pids(server.process.pid)
    if not children:
        return server.process.pid
    if len(children) > 1:
        raise BenchError(f"{server.label}: several worker processes {children}; expected one")
    return children[0]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --------------------------------------------------------------------------------------------
# Databases

User = tuple[uuid.UUID, str, str, bool, dt.datetime, dt.datetime]


def connect(database: str = MAINTENANCE_DB) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True, connect_timeout=10)


def create_database(name: str) -> None:
    with connect() as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    try:
        with connect() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as error:
        log(f"could not drop database {name}: {error}")


def sqlalchemy_url(database: str) -> str:
    return f"postgresql+psycopg://postgres@{HOST}:5432/{database}"


def project_hasher() -> PasswordHasher:
    """Argon2id with the baked project's default cost (its ARGON2_* settings)."""
    return PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)


def make_users(count: int) -> list[User]:
    """The same rows for every database: fixed ids, emails, timestamps and one Argon2 hash."""
    hashed = project_hasher().hash(PASSWORD)
    users = []
    for number in range(count):
        created = FIRST_CREATED_AT + dt.timedelta(seconds=number)
        user_id = uuid.uuid5(uuid.NAMESPACE_URL, f"https://bench.example.com/users/{number}")
        email = f"user{number:05d}@bench.example.com"
        users.append((user_id, email, hashed, True, created, created))
    return users


def load_users(database: str, users: list[User]) -> None:
    columns = "id, email, hashed_password, is_active, created_at, updated_at"
    with connect(database) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY users ({columns}) FROM STDIN") as copy,
        ):
            for user in users:
                copy.write_row(user)
        connection.execute("ANALYZE users")


def sessions_opened(database: str) -> int:
    """Sessions ever established to `database` (pg_stat_database.sessions, PostgreSQL 14+)."""
    with connect() as connection:
        row = connection.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
    return int(str(row[0])) if row and row[0] is not None else 0


def postgres_version() -> str:
    with connect() as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


# --------------------------------------------------------------------------------------------
# Load generators

RequestFactory = Callable[[int], tuple[str, str, bytes | None]]

TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass
class LoadSpec:
    """One load run: what to ask for, how hard, for how long."""

    name: str
    path: str  # wrk's URL path; a script's request() may replace it
    script: Path | None  # wrk Lua script, given `script_args` after `--`
    script_args: list[str]
    factory: RequestFactory  # the Python generator's equivalent of the script
    duration_s: float
    connections: int


def parse_wrk(output: str) -> LoadResult:
    """Requests/s, p50 and p99 from `wrk --latency` output; non-2xx and socket errors."""

    def search(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise BenchError(f"unexpected wrk output (no {pattern!r}):\n{output}")
        return match

    def percentile_ms(percent: int) -> float:
        match = search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$")
        return float(match.group(1)) * TIME_UNITS_MS[match.group(2)]

    totals = search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        errors += sum(int(value) for value in sockets.groups())
    return LoadResult(
        generator="wrk",
        requests=int(totals.group(1)),
        seconds=float(totals.group(2)) * TIME_UNITS_MS[totals.group(3)] / 1000,
        rps=float(search(r"^Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=percentile_ms(50),
        p99_ms=percentile_ms(99),
        errors=errors,
    )


def slug(text: str) -> str:
    """`sync GET /users/{id}` -> `sync-get-users-id`: a file name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def run_wrk(settings: Settings, base_url: str, spec: LoadSpec, label: str) -> LoadResult:
    seconds = max(1, round(spec.duration_s))
    command = [
        "wrk",
        f"--threads={min(settings.threads, spec.connections)}",
        f"--connections={spec.connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        "--latency",
    ]
    if spec.script is not None:
        command.append(f"--script={spec.script}")
    command.append(base_url + spec.path)
    if spec.script_args:
        command += ["--", *spec.script_args]
    result = run_command(
        command,
        cwd=BENCH_DIR,
        timeout=seconds + LOAD_SLACK_S,
        what=f"wrk {label} {spec.name}",
    )
    with (RAW_DIR / f"wrk-{slug(f'{label} {spec.name}')}.txt").open("a") as raw:
        raw.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
    return parse_wrk(result.stdout)


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending sequence."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def _python_load(
    base_url: str,
    factory: RequestFactory,
    connections: int,
    duration_s: float | None,
    count: int | None,
) -> LoadResult:
    limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors = 0
    issued = 0
    # trust_env=False: never through a proxy from the environment; the traffic stays local.
    async with httpx2.AsyncClient(
        base_url=base_url, limits=limits, timeout=30.0, trust_env=False
    ) as client:
        started = time.perf_counter()
        deadline = started + duration_s if duration_s is not None else math.inf

        async def worker() -> None:
            nonlocal errors, issued
            while (count is None or issued < count) and time.perf_counter() < deadline:
                method, path, body = factory(issued)
                issued += 1
                headers = {"Content-Type": "application/json"} if body is not None else None
                sent = time.perf_counter()
                try:
                    response = await client.request(method, path, content=body, headers=headers)
                except httpx2.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if not response.is_success:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        generator="python",
        requests=issued,
        seconds=elapsed,
        rps=len(latencies) / elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        errors=errors,
    )


def python_load(
    base_url: str,
    factory: RequestFactory,
    connections: int,
    *,
    duration_s: float | None = None,
    count: int | None = None,
) -> LoadResult:
    """Keep `connections` keep-alive connections busy for `duration_s`, or for `count` requests."""
    bound = (duration_s or 0) + LOAD_SLACK_S + (count or 0) * 0.05
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(
            asyncio.wait_for(_python_load(base_url, factory, connections, duration_s, count), bound)
        )


def get_user_factory(ids: Sequence[str]) -> RequestFactory:
    def factory(index: int) -> tuple[str, str, bytes | None]:
        # A stride prime to any small id count: every id in turn, in a scattered order.
        return "GET", f"/users/{ids[(index * 7919) % len(ids)]}", None

    return factory


def health_factory(_index: int) -> tuple[str, str, bytes | None]:
    return "GET", "/health", None


def post_user_factory(prefix: str) -> RequestFactory:
    def factory(index: int) -> tuple[str, str, bytes | None]:
        body = {"email": f"{prefix}-{index}@example.com", "password": f"{PASSWORD}-{index}"}
        return "POST", "/users", json.dumps(body).encode()

    return factory


def run_load(settings: Settings, server: Server, spec: LoadSpec) -> LoadResult:
    log(
        f"{server.label}: {spec.name}, {spec.connections} connections, "
        f"{spec.duration_s:g} s ({settings.generator})"
    )
    if settings.generator == "wrk":
        return run_wrk(settings, server.base_url, spec, server.label)
    return python_load(server.base_url, spec.factory, spec.connections, duration_s=spec.duration_s)


# --------------------------------------------------------------------------------------------
# The benchmark proper


def template_modes(template: Path) -> tuple[list[str], bool]:
    """The `sqlalchemy_mode` choices of cookiecutter.json, or (["sync"], False) without one."""
    answers = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    modes = answers.get("sqlalchemy_mode")
    if modes is None:
        return ["sync"], False
    if isinstance(modes, str):
        return [modes], True
    return [str(mode) for mode in modes], True


def bake(settings: Settings, workdir: Path, label: str, answers: dict[str, str]) -> Path:
    output = workdir / f"bake-{label}"
    extra = [f"{key}={value}" for key, value in answers.items()]
    run_command(
        [VENV_BIN / "cookiecutter", "--no-input", "-o", output, settings.template, *extra],
        cwd=workdir,
        timeout=BAKE_TIMEOUT_S,
        what=f"bake {label} ({' '.join(extra)})",
    )
    projects = [path for path in output.iterdir() if path.is_dir()]
    if len(projects) != 1:
        raise BenchError(f"bake {label}: expected one project in {output}, found {projects}")
    return projects[0]


def mode_answers(settings: Settings, mode: str, database: str) -> dict[str, str]:
    answers = {"database": database, "primary_key": "uuid"}
    if settings.mode_is_choice:
        answers["sqlalchemy_mode"] = mode
    return answers


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "TEST_DATABASE_URL", "ENVIRONMENT", "LOG_LEVEL"):
        env.pop(name, None)
    return env


def app_env(database: str) -> dict[str, str]:
    # ENVIRONMENT=production (or staging) refuses the placeholder password of .env.example;
    # "development" with WARNING logs (so no access log lines) is the closest allowed.
    return base_env() | {
        "DATABASE_URL": sqlalchemy_url(database),
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
    }


def migrate(project: Path, database: str) -> None:
    run_command(
        [VENV_BIN / "alembic", "-c", "backend/alembic.ini", "upgrade", "head"],
        cwd=project,
        env=app_env(database),
        timeout=MIGRATE_TIMEOUT_S,
        what=f"migrate {database}",
    )


def check_user_response(server: Server, user: User) -> None:
    """One GET /users/{id} must answer 200 with the user's keys and values, before any load."""
    user_id, email = str(user[0]), user[1]
    connection = http.client.HTTPConnection(HOST, server.port, timeout=10.0)
    try:
        connection.request("GET", f"/users/{user_id}")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise BenchError(f"{server.label}: GET /users/{user_id} -> {response.status} {body!r}")
    payload = json.loads(body)
    if set(payload) != EXPECTED_USER_KEYS or payload["id"] != user_id or payload["email"] != email:
        raise BenchError(f"{server.label}: unexpected GET /users/{user_id} body {payload!r}")


def measure_memory(
    settings: Settings, server: Server, result: ServerResult, ids: list[str]
) -> None:
    """RSS of the serving process after N and after 2N GET /users/{id} (an exact count)."""
    pid = serving_pid(server)
    result.rss_start_kib = rss_kib(pid)
    count = settings.memory_requests
    log(f"{server.label}: {count:,} + {count:,} GET /users/{{id}} (memory)")
    users = get_user_factory(ids)
    first = python_load(server.base_url, users, settings.connections, count=count)
    result.rss_first_kib = rss_kib(pid)
    second = python_load(
        server.base_url, lambda index: users(index + count), settings.connections, count=count
    )
    result.rss_second_kib = rss_kib(pid)
    if first.errors or second.errors:
        raise BenchError(f"{server.label}: {first.errors + second.errors} failed requests")


def timed_suite(
    label: str, command: Sequence[str | Path], cwd: Path, env: dict[str, str], timeout: float
) -> SuiteResult:
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
            return SuiteResult(label, time.perf_counter() - started, -1, f"timed out ({timeout} s)")
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        seconds = time.perf_counter() - started
        output.seek(0)
        text = output.read()
    # pytest's last line: "== 74 passed in 8.51s ==".
    lines = [line.strip("= ") for line in text.splitlines() if line.strip()]
    return SuiteResult(label, seconds, returncode, lines[-1] if lines else "")


def warm_suite(
    label: str, command: Sequence[str | Path], cwd: Path, env: dict[str, str]
) -> SuiteResult:
    """Time the second of two runs, as a developer re-runs the suite; report the first as well.

    The first run compiles and writes the bytecode a developer's machine keeps between runs
    (whatever PYTHONDONTWRITEBYTECODE says in this environment).
    """
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    first = timed_suite(f"{label} (first run)", command, cwd, env, SUITE_TIMEOUT_S)
    second = timed_suite(label, command, cwd, env, SUITE_TIMEOUT_S)
    second.summary += f"; first run {first.seconds:.1f} s, exit {first.returncode}"
    if first.returncode != 0:
        second.returncode = first.returncode
    return second


def run_suites(
    settings: Settings,
    workdir: Path,
    projects: dict[str, Path],
    stack: contextlib.ExitStack,
    outcome: Outcome,
) -> None:
    # The template's virtualenv loads pytest-cookies (and may load pytest-benchmark): not ours.
    pytest: list[str | Path] = [VENV_BIN / "python", "-m", "pytest", "-q"]
    pytest += ["-p", "no:cookies", "-p", "no:pytest_benchmark"]
    for mode in settings.modes:
        database = f"bench_suite_{mode}"
        # The suite creates and drops this database itself; dropped here too if it is killed.
        stack.callback(drop_database, database)
        env = base_env() | {"TEST_DATABASE_URL": sqlalchemy_url(database)}
        outcome.suites.append(warm_suite(f"{mode}-postgresql", pytest, projects[mode], env))
        log(f"bake {mode} (sqlite, uuid)")
        label = f"{mode}-sqlite"
        try:
            project = bake(settings, workdir, label, mode_answers(settings, mode, "sqlite"))
        except BenchError as error:
            first_line = str(error).splitlines()[0]
            outcome.suites.append(SuiteResult(label, 0.0, -1, f"bake failed: {first_line}"))
            continue
        outcome.suites.append(warm_suite(label, pytest, project, base_env()))


def run_benchmark(settings: Settings, stack: contextlib.ExitStack, outcome: Outcome) -> None:
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
    log(f"modes: {', '.join(settings.modes)}; rows: {settings.rows}; load: {settings.generator}")

    users = make_users(settings.rows)
    ids = [str(user[0]) for user in users]
    ids_file = workdir / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")

    projects: dict[str, Path] = {}
    for mode in settings.modes:
        log(f"bake {mode} (postgresql, uuid); database bench_{mode}")
        projects[mode] = bake(
            settings, workdir, f"{mode}-postgresql", mode_answers(settings, mode, "postgresql")
        )
        stack.callback(drop_database, f"bench_{mode}")
        create_database(f"bench_{mode}")
        migrate(projects[mode], f"bench_{mode}")
        load_users(f"bench_{mode}", users)

    # The reference reads a copy of its own: the first project's schema, the same rows.
    reference_db = f"bench_{REFERENCE}"
    stack.callback(drop_database, reference_db)
    create_database(reference_db)
    migrate(projects[settings.modes[0]], reference_db)
    load_users(reference_db, users)

    databases = [reference_db, *(f"bench_{mode}" for mode in settings.modes)]
    sessions_before = [sessions_opened(database) for database in databases]

    # Every server runs from here on, one at a time under load, the others idle.
    uvicorn: list[str | Path] = [VENV_BIN / "uvicorn", "--factory", "--workers", "1"]
    log(f"serve {REFERENCE}")
    servers = [
        start_server(
            REFERENCE,
            # No app logging config of its own: uvicorn's, access log off, warnings only.
            [
                *uvicorn,
                *("--app-dir", BENCH_DIR, "--no-access-log", "--log-level", "warning"),
                "reference_app:create_app",
            ],
            cwd=BENCH_DIR,
            env=base_env() | {"REFERENCE_DATABASE_URL": f"{PG_SERVER}/{reference_db}"},
            stack=stack,
        )
    ]
    for mode in settings.modes:
        log(f"serve {mode}")
        # As `make run` serves it. No --no-access-log: create_app() installs the app's own
        # logging config, which gives uvicorn.access a handler again and so undoes the flag;
        # LOG_LEVEL=WARNING is what keeps the access lines (INFO) out.
        servers.append(
            start_server(
                mode,
                [*uvicorn, "--app-dir", "backend", "app.main:create_app"],
                cwd=projects[mode],
                env=app_env(f"bench_{mode}"),
                stack=stack,
            )
        )
    results = [ServerResult(server.label, server.cold_start_s) for server in servers]
    outcome.servers = results

    for server, result in zip(servers, results, strict=True):
        check_user_response(server, users[0])
        measure_memory(settings, server, result, ids)  # also warms every server up

    gets = [
        LoadSpec(
            GET_USER,
            "/users",
            BENCH_DIR / "get_user.lua",
            [str(ids_file)],
            get_user_factory(ids),
            settings.duration_s,
            settings.connections,
        ),
        LoadSpec(
            GET_HEALTH,
            "/health",
            None,
            [],
            health_factory,
            settings.duration_s,
            settings.connections,
        ),
    ]
    # Rounds, the servers in turn (in a rotated order each round), so that a burst of
    # background load on the machine hits every server alike; the report takes medians.
    pairs = list(zip(servers, results, strict=True))
    for number in range(settings.rounds):
        log(f"round {number + 1} of {settings.rounds}")
        order = pairs[number % len(pairs) :] + pairs[: number % len(pairs)]
        for spec in gets:
            for server, result in order:
                result.add(spec.name, run_load(settings, server, spec))

    for server, result in pairs[1:]:
        prefix = f"bench-{server.label}-{uuid.uuid4().hex[:8]}"
        spec = LoadSpec(
            POST_USER,
            "/users",
            BENCH_DIR / "post_user.lua",
            [prefix],
            post_user_factory(prefix),
            settings.post_duration_s,
            settings.post_connections,
        )
        result.add(spec.name, run_load(settings, server, spec))

    for result, database, before in zip(results, databases, sessions_before, strict=True):
        result.pg_sessions = sessions_opened(database) - before
    for server in servers:
        stop_server(server)

    if settings.with_suites:
        run_suites(settings, workdir, projects, stack, outcome)

    if settings.with_template_suite:
        env = base_env() | {"TEST_DATABASE_URL": sqlalchemy_url(MAINTENANCE_DB)}
        outcome.template_suite = timed_suite(
            "template make test", ["make", "test"], settings.template, env, TEMPLATE_SUITE_TIMEOUT_S
        )


# --------------------------------------------------------------------------------------------
# Report


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, padded so that it also reads well in a terminal."""
    rows = [[" ".join(cell.split()).replace("|", "\\|") for cell in row] for row in rows]
    columns = zip(headers, *rows, strict=True)
    widths = [max(3, *(len(cell) for cell in column)) for column in columns]

    def line(cells: Sequence[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    separator = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(headers), separator, *(line(row) for row in rows)])


def suite_target(suite: SuiteResult, limit_s: float) -> Target:
    passed = suite.returncode == 0
    measured = f"{suite.seconds:.1f} s" + ("" if passed else f" (FAILED: {suite.summary})")
    threshold = f"<= {limit_s:g} s" if limit_s < 120 else f"<= {limit_s / 60:g} min"
    return Target(suite.label, measured, threshold, passed and suite.seconds <= limit_s)


def targets(settings: Settings, outcome: Outcome) -> list[Target]:
    by_label = {server.label: server for server in outcome.servers}
    reference = by_label.get(REFERENCE)
    found: list[Target] = []
    for mode, minimum in TARGET_RATIOS.items():
        name = f"{GET_USER} {mode} / reference (req/s)"
        server = by_label.get(mode)
        if mode not in settings.modes:
            found.append(Target(name, "no such mode in the template", f">= {minimum}", None))
        elif server is None or reference is None or GET_USER not in server.loads:
            found.append(Target(name, "failed before measuring", f">= {minimum}", None))
        else:
            ratios = round_ratios(server.loads[GET_USER], reference.loads[GET_USER])
            ratio = statistics.median(ratios) if ratios else math.nan
            found.append(Target(name, ratio_text(ratios), f">= {minimum}", ratio >= minimum))
    limit = f"<= {TARGET_MEMORY_GROWTH_PCT:g} %"
    for mode in settings.modes:
        name = (
            f"{mode} worker RSS growth, {settings.memory_requests:,} -> "
            f"{2 * settings.memory_requests:,} requests"
        )
        server = by_label.get(mode)
        if server is None or not server.rss_second_kib:
            found.append(Target(name, "failed before measuring", limit, None))
        else:
            growth = server.memory_growth_pct
            found.append(
                Target(name, f"{growth:+.1f} %", limit, growth <= TARGET_MEMORY_GROWTH_PCT)
            )
    if not settings.with_suites:
        found.append(Target("baked suites", "skipped (--skip-suites)", "", None))
    for suite in outcome.suites:
        limit_s = (
            TARGET_SUITE_SQLITE_S if suite.label.endswith("sqlite") else TARGET_SUITE_POSTGRESQL_S
        )
        target = suite_target(suite, limit_s)
        target.name = f"baked suite {suite.label} (wall)"
        found.append(target)
    if outcome.template_suite is None:
        found.append(
            Target(
                "template make test",
                "not run (needs --with-template-suite)",
                f"<= {TARGET_TEMPLATE_SUITE_S / 60:g} min",
                None,
            )
        )
    else:
        found.append(suite_target(outcome.template_suite, TARGET_TEMPLATE_SUITE_S))
    return found


def round_ratios(load: LoadSummary, reference: LoadSummary) -> list[float]:
    """req/s over the reference's, round by round: each pair ran back to back."""
    return [
        run.rps / ref.rps
        for run, ref in zip(load.runs, reference.runs, strict=False)
        if ref.rps > 0
    ]


def ratio_text(ratios: Sequence[float]) -> str:
    if not ratios:
        return ""
    text = f"{statistics.median(ratios):.2f}"
    if len(ratios) > 1:
        text += f" ({min(ratios):.2f}-{max(ratios):.2f})"
    return text


def throughput_rows(outcome: Outcome) -> list[list[str]]:
    reference = next((s for s in outcome.servers if s.label == REFERENCE), None)
    rows = []
    for server in outcome.servers:
        for name, load in server.loads.items():
            ratio = ""
            if server is reference:
                ratio = "1"
            elif reference is not None and name in reference.loads:
                ratio = ratio_text(round_ratios(load, reference.loads[name]))
            rows.append(
                [
                    server.label,
                    name,
                    f"{load.rps:,.0f}",
                    load.rps_range,
                    f"{load.p50_ms:.1f}" if load.requests else "n/a",
                    f"{load.p99_ms:.1f}" if load.requests else "n/a",
                    f"{len(load.runs)}",
                    f"{load.requests:,}",
                    str(load.errors),
                    ratio,
                ]
            )
    return rows


def memory_rows(outcome: Outcome) -> list[list[str]]:
    return [
        [
            server.label,
            f"{server.cold_start_s:.2f}",
            f"{server.rss_start_kib / 1024:.1f}",
            f"{server.rss_first_kib / 1024:.1f}",
            f"{server.rss_second_kib / 1024:.1f}",
            f"{server.memory_growth_pct:+.2f}",
            str(server.pg_sessions) if server.pg_sessions >= 0 else "",
        ]
        for server in outcome.servers
    ]


def argon2_ms() -> float:
    """Median time of one hash at the project's default cost: the floor of POST /users."""
    hasher = project_hasher()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        hasher.hash(PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def machine_info(settings: Settings, outcome: Outcome) -> list[list[str]]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
    memory = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    if settings.generator == "wrk":
        probe = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        version = (probe.stdout + probe.stderr).splitlines()[0].split(" Copyright")[0]
        generator = f"{version}, {settings.threads} thread(s)"
    else:
        loop = "uvloop" if LOOP_FACTORY is not None else "asyncio"
        generator = (
            f"**Python fallback** (wrk not installed): {loop} + httpx2 "
            f"{importlib.metadata.version('httpx2')}, keep-alive connections"
        )
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("fastapi", "starlette", "sqlalchemy", "psycopg", "psycopg-pool", "uvicorn")
    )
    return [
        ["Date", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")],
        ["CPU", model.group(1).strip() if model else "?"],
        ["nproc", str(len(os.sched_getaffinity(0)))],
        ["Memory", f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB" if memory else "?"],
        ["OS", f"{platform.system()} {platform.release()}"],
        ["PostgreSQL", postgres_version()],
        ["Python", platform.python_version()],
        ["Packages", versions],
        ["Load generator", generator],
        ["Memory phase", "Python generator (exact request counts)"],
        ["Argon2id hash", f"{argon2_ms():.0f} ms (t=3, m=64 MiB, p=4), one hash in the bench"],
        ["Load average", f"{outcome.load_before} at start, {outcome.load_after} at end"],
    ]


def noisy(outcome: Outcome) -> bool:
    for server in outcome.servers:
        for load in server.loads.values():
            rates = [run.rps for run in load.runs]
            if len(rates) > 1 and min(rates) < 0.8 * max(rates):
                return True
    return False


def report(settings: Settings, outcome: Outcome, total_s: float, error: str | None) -> str:
    found = targets(settings, outcome)
    parts = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (`make bench`); bench/README.md says what is measured and "
        "how. Numbers from another machine, or from a busy one, are not comparable.",
        "",
    ]
    if error:
        parts += [f"**The run failed:** `{error.splitlines()[0]}`", ""]
    if noisy(outcome):
        parts += [
            "**Noisy run:** some server's requests/s differ by more than 20 % between rounds; "
            "something else was using the CPU for part of the run (see the load average). The "
            "ratios pair rounds that ran back to back, so they suffer less than the absolutes.",
            "",
        ]
    if settings.generator == "python":
        parts += [
            "**Load generator: the Python fallback** (wrk was not installed). It needs about as "
            "much CPU per request as a fast server, so it saturates first: requests/s of the "
            "reference (and of /health) are the generator's limit, and the ratios to the "
            "reference read higher than wrk would measure them. Install wrk for real numbers.",
            "",
        ]
    mode_note = "" if settings.mode_is_choice else " (cookiecutter.json has no `sqlalchemy_mode`)"
    parts += [
        "## Machine",
        "",
        table(["", ""], machine_info(settings, outcome)),
        "",
        f"Modes: {', '.join(settings.modes)}{mode_note}. {settings.rows:,} users in every "
        f"database. GET runs: {settings.rounds} round(s) of {settings.duration_s:g} s per "
        f"server and endpoint, {settings.connections} connections; POST: "
        f"{settings.post_duration_s:g} s, {settings.post_connections} connections. "
        f"Bench wall time: {total_s:.0f} s.",
        "",
        "## Targets",
        "",
        table(
            ["Target", "Measured", "Threshold", "Status"],
            [[t.name, t.measured, t.threshold, t.status] for t in found],
        ),
        "",
        "## Throughput and latency",
        "",
        "req/s, p50 and p99: medians over the rounds; range: the slowest and the fastest round. "
        "Ratio: req/s over the reference's for the same endpoint, round by round (in a round "
        "the servers run back to back), median (lowest-highest). Errors: non-2xx responses "
        "and socket errors.",
        "",
        table(
            [
                "Server",
                "Endpoint",
                "req/s",
                "range",
                "p50 ms",
                "p99 ms",
                "Rounds",
                "Requests",
                "Errors",
                "Ratio",
            ],
            throughput_rows(outcome),
        ),
        "",
        "## Cold start and worker memory",
        "",
        "Cold start: process start to the first 200 on GET /health. RSS: VmRSS of the serving "
        f"process after start-up, after {settings.memory_requests:,} and after "
        f"{2 * settings.memory_requests:,} GET /users/{{id}} requests; growth between the two. "
        "PG sessions: connections the server opened to its database over the whole run "
        "(pg_stat_database.sessions); more than its pool size means connections are being "
        "closed and reopened under load.",
        "",
        table(
            [
                "Server",
                "Cold start s",
                "RSS start MiB",
                f"RSS {settings.memory_requests:,} MiB",
                f"RSS {2 * settings.memory_requests:,} MiB",
                "Growth %",
                "PG sessions",
            ],
            memory_rows(outcome),
        ),
        "",
        "## Test suites",
        "",
        "Wall: the whole command (interpreter start, plugins, collection) of the second of two "
        "runs, bytecode cached as on a developer's machine; pytest: its summary, and the first "
        "run's wall time.",
        "",
    ]
    suites = [*outcome.suites, *([outcome.template_suite] if outcome.template_suite else [])]
    if suites:
        parts.append(
            table(
                ["Suite", "Wall s", "Exit", "pytest"],
                [[s.label, f"{s.seconds:.1f}", str(s.returncode), s.summary] for s in suites],
            )
        )
    else:
        parts.append("Not run.")
    parts.append("")
    if ANALYSIS.is_file():
        parts += [
            "## Where the time goes, the gaps, and what was tried",
            "",
            f"From [{ANALYSIS.name}]({ANALYSIS.name}), written by hand from profiles; the tables "
            "above are this run's.",
            "",
            ANALYSIS.read_text(encoding="utf-8").strip(),
            "",
        ]
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# Entry point


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        description="Benchmark the baked projects against a bare reference app.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per GET run")
    parser.add_argument("--rounds", type=int, default=3, help="GET runs per server and endpoint")
    parser.add_argument("--connections", type=int, default=16, help="for the GET runs")
    parser.add_argument("--post-duration", type=float, default=5.0, help="seconds of POST /users")
    parser.add_argument(
        "--post-connections",
        type=int,
        default=4,
        help="for POST /users: Argon2 saturates the CPU with a few; more only queue",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rows", type=int, default=1000, help="users in every database")
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=10_000,
        help="RSS is read after this many GET /users/{id} and after twice as many",
    )
    parser.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk when installed, else the Python generator",
    )
    parser.add_argument("--skip-suites", action="store_true", help="do not time the baked suites")
    parser.add_argument(
        "--with-template-suite", action="store_true", help="also time the template's `make test`"
    )
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument(
        "--template", type=Path, default=ROOT, help="the Cookiecutter template to bake"
    )
    args = parser.parse_args(argv)

    generator: str = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    elif generator == "wrk" and not shutil.which("wrk"):
        parser.error("--load-generator wrk: wrk is not installed")
    for name in ("duration", "rounds", "connections", "post_connections", "threads", "rows"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.memory_requests <= 0:
        parser.error("--memory-requests must be positive")
    modes, mode_is_choice = template_modes(args.template)
    return Settings(
        template=args.template,
        modes=modes,
        mode_is_choice=mode_is_choice,
        rows=args.rows,
        duration_s=args.duration,
        rounds=args.rounds,
        post_duration_s=args.post_duration,
        connections=args.connections,
        post_connections=args.post_connections,
        threads=args.threads,
        memory_requests=args.memory_requests,
        generator=generator,
        with_suites=not args.skip_suites,
        with_template_suite=args.with_template_suite,
        results_path=args.results,
    )


def _terminate(signum: int, _frame: object) -> NoReturn:
    # SystemExit unwinds the ExitStack: servers stopped, databases dropped, temp dir removed.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    shutil.rmtree(RAW_DIR, ignore_errors=True)
    RAW_DIR.mkdir(parents=True)
    outcome = Outcome(load_before=load_average())
    error: str | None = None
    try:
        with contextlib.ExitStack() as stack:
            run_benchmark(settings, stack, outcome)
    except BenchError as failure:
        error = str(failure)
    except Exception as failure:
        traceback.print_exc()
        error = f"{failure.__class__.__name__}: {failure}"
    outcome.load_after = load_average()
    total_s = time.perf_counter() - STARTED
    text = report(settings, outcome, total_s, error)
    settings.results_path.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {settings.results_path} ({total_s:.0f} s)")
    if error:
        log(f"FAILED: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
