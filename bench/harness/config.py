"""Paths, constants, targets and time bounds; the run's settings; logging and the step error."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"
# Hand-written analysis of the gaps, copied into RESULTS.md under the tables.
ANALYSIS = BENCH_DIR / "ANALYSIS.md"
RAW_DIR = BENCH_DIR / "results" / "last"  # git-ignored: raw wrk output, server and suite logs
VENV_BIN = Path(sys.executable).parent  # the virtualenv running the bench has every tool
HOST = "127.0.0.1"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"  # libpq URL; SQLAlchemy's adds +psycopg
MAINTENANCE_DB = "postgres"

# Servers, as the report names them. The baked projects are named after their mode ("sync",
# "async"); a project baked from the baseline template (--baseline-template) after its mode and
# BASELINE_SUFFIX ("sync@base").
REFERENCE = "reference"  # the raw app: Starlette, psycopg's pool, PyJWT (bench/reference_app.py)
TUTORIAL = "tutorial-"  # + mode: the tutorial-style app of that mode (bench/tutorial_app_*.py)
FSFT = "fsft"  # full-stack-fastapi-template's backend, from PEER_FSFT / --peer-fsft
BASELINE_SUFFIX = "@base"

# Endpoint names, as the report shows them. The reference's lookup has no authentication: the
# projects' authenticated lookup is compared with that plain one; every server's GET /users/me
# reads a bearer token.
GET_USER_PLAIN = "GET /users/{id}"
GET_USER = "GET /users/{id} (bearer)"
GET_ME = "GET /users/me (bearer)"
GET_HEALTH = "GET /health"
POST_USER = "POST /users"
POST_TOKEN = "POST /auth/token"  # noqa: S105 - an endpoint
# The Ratio column of the throughput table: req/s over the reference's endpoint of the same round.
REFERENCE_ENDPOINT = {
    GET_USER_PLAIN: GET_USER_PLAIN,
    GET_USER: GET_USER_PLAIN,
    GET_ME: GET_ME,
    GET_HEALTH: GET_HEALTH,
}

# Targets (see bench/README.md). Issue 16: each mode's GET /users/me req/s over FSFT's, over the
# tutorial app's of the same mode, and over the raw app's (with authentication), in the same
# round; and over the baseline template's project of the same mode, for the GETs.
TARGET_ME_OVER_FSFT = 1.5
TARGET_ME_OVER_TUTORIAL = 1.0
TARGET_ME_OVER_RAW = {"async": 0.5, "sync": 0.35}
TARGET_OVER_BASELINE = 0.95  # GET /users/{id} and GET /users/me; the POSTs are reported only
TARGET_MEMORY_GROWTH_PCT = 5.0
TARGET_SUITE_SQLITE_S = 5.0
TARGET_SUITE_POSTGRESQL_S = 8.0
TARGET_TEMPLATE_SUITE_S = 180.0
TARGET_BURST_RSS_MIB = 512.0
TARGET_BURST_HEALTH_S = 0.5
TARGET_FLOOD_ME_P95_S = 0.5  # GET /users/me p95 during the login flood; /health/ready all 200

# The sign-up burst: this many POST /users at once on one worker; RSS and /health sampled.
BURST_SIGNUPS = 40
BURST_SAMPLE_S = 0.020

# The login flood (`--only login-flood` runs it alone): FLOOD_CLIENTS clients post logins of
# unknown emails for FLOOD_SECONDS (`--flood-seconds`) on a server of its own per mode, at the
# default Argon2 cost; /health/ready and GET /users/me are probed every FLOOD_PROBE_S meanwhile.
LOGIN_FLOOD = "login-flood"
FLOOD_CLIENTS = 30
FLOOD_SECONDS = 20.0
FLOOD_PROBE_S = 0.100
# How long a flood client waits for its login. The logins queue for PASSWORD_HASH_CONCURRENCY
# hashers: 30 of them wait about 15 hashes, several seconds on a quiet machine, over 30 s on a
# busy one. A client that gave up would count as a login not answered, which says nothing of
# the server, so the clients wait longer than that.
FLOOD_LOGIN_TIMEOUT_S = 120.0
# Every flood login comes from 127.0.0.1: at the project's default (100 failures per address
# in 15 minutes) the throttle would refuse the rest before hashing. Raised, the flood measures
# the hashing path. Each login names a new email, so the per-account limit is never reached.
FLOOD_ADDRESS_LIMIT = 1_000_000
# What every flood login must answer: the token endpoint's failed password grant (RFC 6749's
# invalid_grant is a 400), after hashing. A 429 (too_many_attempts) was refused unhashed.
FLOOD_LOGIN_ANSWER = "400 invalid_credentials"

# The peer full-stack-fastapi-template (FSFT): the commit issue 16 names, where its API lives, its
# health check, the database the bench gives it and the superuser its initial_data.py creates.
FSFT_COMMIT = "f459c20a"
FSFT_API = "/api/v1"
FSFT_HEALTH = "/api/v1/utils/health-check/"
FSFT_DATABASE = "bench_fsft"
FSFT_SUPERUSER = "admin@bench.example.com"
# PostgreSQL connections the servers of a run may hold at once: the pools every idle server
# keeps open, plus the overflow of the one under load (the tutorial apps and FSFT open up to 10
# more under load, SQLAlchemy's default max_overflow, and close them as they come back), plus
# the bench's own. Checked against max_connections before anything is baked.
POOL_KEPT = {"reference": 15, "project": 10, "tutorial": 10, "fsft": 5}
POOL_OVERFLOW = 10
BENCH_CONNECTIONS = 3  # the lock (databases.hold_server), a check, a copy
# Peers and baseline projects are warmed up with this many requests of each GET they serve
# before the rounds (the reference and the projects are warmed up by the memory phase).
WARMUP_REQUESTS = 2000

# Time bounds of every step.
BAKE_TIMEOUT_S = 120
MIGRATE_TIMEOUT_S = 120
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 30.0  # one request outside the load runs (a login, a check, a sign-up)
SUITE_TIMEOUT_S = 900
TEMPLATE_SUITE_TIMEOUT_S = 3600
LOAD_SLACK_S = 120.0  # on top of a load run's planned duration
VENV_TIMEOUT_S = 300  # create a virtualenv, pip-install uv into it
PEER_INSTALL_TIMEOUT_S = 900  # uv pip install of a peer's dependencies (downloads from PyPI)

EXPECTED_USER_KEYS = {"id", "email", "is_active", "is_superuser", "created_at", "updated_at"}
PASSWORD = "bench-password"  # noqa: S105 - the password of the benchmark's fake users
# Signs the projects' access tokens: fixed, so that a run never depends on a generated key.
SECRET_KEY = "bench-only-signing-key-0123456789abcdef"  # noqa: S105 - not a secret
# One login per server serves the whole run, which lasts longer than the default 15 minutes
# on a busy machine.
ACCESS_TOKEN_MINUTES = 180

STARTED = time.perf_counter()


def log(message: str) -> None:
    """One progress line on stderr, with the seconds since the run started."""
    print(f"[{time.perf_counter() - STARTED:6.0f}s] {message}", file=sys.stderr, flush=True)


def slug(text: str) -> str:
    """`sync GET /users/{id}` -> `sync-get-users-id`: a file name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


@dataclass
class Settings:
    """The run's parameters, from the command line."""

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
    with_burst: bool
    with_flood: bool
    flood_seconds: float
    only: str | None  # LOGIN_FLOOD: that part alone (no reference, GET loads, burst, suites)
    with_suites: bool
    with_template_suite: bool
    results_path: Path
    peer_fsft: Path | None = None  # a checkout of full-stack-fastapi-template, or its backend/
    baseline: Path | None = None  # the template to compare with (--baseline-template)
    baseline_modes: list[str] = field(default_factory=list)
    baseline_mode_is_choice: bool = False
