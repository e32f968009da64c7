"""The whole run, step by step: bake, load the databases, serve, measure, time the suites."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from .config import (
    BASELINE_SUFFIX,
    BENCH_CONNECTIONS,
    BENCH_DIR,
    FLOOD_ADDRESS_LIMIT,
    FSFT,
    FSFT_DATABASE,
    GET_HEALTH,
    GET_ME,
    GET_USER,
    GET_USER_PLAIN,
    LOGIN_FLOOD,
    PASSWORD,
    POOL_KEPT,
    POOL_OVERFLOW,
    POST_TOKEN,
    POST_USER,
    REFERENCE,
    TUTORIAL,
    VENV_BIN,
    WARMUP_REQUESTS,
    BenchError,
    Settings,
    log,
    slug,
)
from .databases import (
    UserRow,
    connections_in_use,
    copy_database,
    create_database,
    drop_database,
    hold_server,
    load_users,
    make_users,
    sessions_opened,
)
from .flood import login_flood
from .load import (
    LoadSpec,
    get_factory,
    get_user_factory,
    post_token_factory,
    post_user_factory,
    python_load,
    run_load,
)
from .memory import measure_memory, signup_burst
from .peers import log_in_fsft, serve_fsft, serve_reference, serve_tutorial, set_up_fsft
from .projects import (
    app_env,
    bake,
    check_user_response,
    log_in,
    migrate,
    mode_answers,
    server_options,
    template_revision,
    token_env,
)
from .results import Outcome, ServerResult
from .servers import Server, log_tail, start_server, stop_server
from .suites import run_suites, run_template_suite

# The GET loads of a round, in this order; in each group, every server in turn. The reference's
# plain lookup runs in the same group as the projects' authenticated ones: its ratio partner.
ROUND_GROUPS = ((GET_USER_PLAIN, GET_USER), (GET_ME,), (GET_HEALTH,))
# The GETs each kind of server is loaded with: the reference (the raw app), this template's
# projects, the baseline template's, and the peers (the tutorial apps, FSFT). /health is loaded
# on the reference and the projects only: the issue compares /users/me.
REFERENCE_GETS: tuple[str, ...] = (GET_USER_PLAIN, GET_ME, GET_HEALTH)
PROJECT_GETS: tuple[str, ...] = (GET_USER, GET_ME, GET_HEALTH)
BASELINE_GETS: tuple[str, ...] = (GET_USER, GET_ME)
PEER_GETS: tuple[str, ...] = (GET_ME,)
UVICORN: list[str | Path] = [VENV_BIN / "uvicorn", "--factory", "--workers", "1"]


def serve_project(
    label: str,
    project: Path,
    database: str,
    stack: ExitStack,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """The baked project as `make run` serves it, on one worker.

    No --no-access-log: create_app() installs the app's own logging config, which gives
    uvicorn.access a handler again and so undoes the flag; LOG_LEVEL=WARNING is what keeps the
    access lines (INFO) out.
    """
    return start_server(
        label,
        [*UVICORN, *("--app-dir", "backend", *server_options(project)), "app.main:create_app"],
        cwd=project,
        env=app_env(database) | (extra_env or {}),
        stack=stack,
    )


def run_floods(
    settings: Settings,
    projects: dict[str, Path],
    user: UserRow,
    stack: ExitStack,
    outcome: Outcome,
) -> None:
    """The login flood on each project, on a server of its own started for it, alone.

    At the default Argon2 cost; only the per-address limit of failed logins is raised, because
    every login of the flood comes from 127.0.0.1 (see FLOOD_ADDRESS_LIMIT).
    """
    limit = {"LOGIN_MAX_FAILURES_PER_ADDRESS": str(FLOOD_ADDRESS_LIMIT)}
    for mode, project in projects.items():
        log(f"serve {mode} for the login flood, {limit}")
        server = serve_project(f"{mode}-{LOGIN_FLOOD}", project, f"bench_{mode}", stack, limit)
        try:
            log(f"{server.label}: log in as {user.email}")
            server.bearer = log_in(server, user)
            check_user_response(server, "/users/me", user)
            outcome.floods[mode] = login_flood(server, settings.flood_seconds)
        finally:
            stop_server(server)


@dataclass
class Served:
    """A server of the run: what it measured, the GETs it is loaded with, its database."""

    server: Server
    result: ServerResult
    gets: tuple[str, ...]
    database: str
    specs: list[LoadSpec] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.server.label


def get_specs(
    settings: Settings, server: Server, gets: Sequence[str], ids_file: Path, ids: list[str]
) -> list[LoadSpec]:
    """The GET loads of one server, among the lookup, /users/me and /health.

    The lookup and /users/me carry the server's bearer token (one login per server, one token
    for every connection): the projects' is their superuser's, so that every id answers 200;
    the reference's plain lookup carries none. The projects' /health carries the token as it
    always has; the reference's does not.
    """
    authenticated = GET_USER in gets

    def spec(name: str) -> LoadSpec:
        lookup = name in (GET_USER, GET_USER_PLAIN)
        path = "/users/me" if name == GET_ME else "/health"
        path = "/users" if lookup else server.prefix + path
        with_token = name == GET_ME or (authenticated and name in (GET_USER, GET_HEALTH))
        return LoadSpec(
            name,
            path,
            BENCH_DIR / "get_user.lua" if lookup else None,
            [str(ids_file)] if lookup else [],
            get_user_factory(ids) if lookup else get_factory(path),
            settings.duration_s,
            settings.connections,
            server.auth_headers if with_token else {},
        )

    return [spec(name) for name in gets]


def warm_up(settings: Settings, served: Served) -> None:
    """WARMUP_REQUESTS of each of its GETs (the Python generator; any error stops the run)."""
    log(f"{served.label}: warm-up, {WARMUP_REQUESTS:,} requests of each of its GETs")
    for spec in served.specs:
        run = python_load(
            served.server.base_url,
            spec.factory,
            settings.connections,
            headers=spec.headers,
            count=WARMUP_REQUESTS,
        )
        if run.errors:
            raise BenchError(
                f"{served.label}: {run.errors} failed requests of {spec.name} (its log: "
                f"{served.server.log_path})\n{log_tail(served.server)[-1000:]}"
            )


def post_specs(settings: Settings, label: str, user: UserRow) -> list[LoadSpec]:
    """POST /users (new emails) and POST /auth/token (`user`'s login, again and again)."""
    prefix = f"bench-{slug(label)}-{uuid.uuid4().hex[:8]}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        LoadSpec(
            POST_USER,
            "/users",
            BENCH_DIR / "post_user.lua",
            [prefix],
            post_user_factory(prefix),
            settings.post_duration_s,
            settings.post_connections,
        ),
        LoadSpec(
            POST_TOKEN,
            "/auth/token",
            BENCH_DIR / "post_token.lua",
            [user.email, PASSWORD],
            post_token_factory(user.email, PASSWORD),
            settings.post_duration_s,
            settings.post_connections,
            form,
        ),
    ]


def prepare_database(project: Path, database: str, users: list[UserRow], stack: ExitStack) -> None:
    """A fresh database, migrated by `project`, holding `users`; dropped at the end."""
    stack.callback(drop_database, database)
    create_database(database)
    migrate(project, database)
    load_users(database, users)


def check_connections(settings: Settings) -> None:
    """Fail now, not in the middle of a load, when PostgreSQL cannot take the run's servers.

    Every server keeps its pool open while the others are loaded, and the one under load may
    open more (see POOL_KEPT): with the peers and a baseline that comes near PostgreSQL's default
    max_connections (100), and anything else connected to the same server (another benchmark, a
    test run) can push the run past it: "too many clients" in the middle of a load.
    """
    if settings.only == LOGIN_FLOOD:
        needed = POOL_KEPT["project"] + BENCH_CONNECTIONS
    else:
        projects = len(settings.modes)
        if settings.baseline is not None:
            projects += len([mode for mode in settings.baseline_modes if mode in settings.modes])
        needed = POOL_KEPT["reference"] + projects * POOL_KEPT["project"]
        needed += len(settings.modes) * POOL_KEPT["tutorial"] + POOL_OVERFLOW + BENCH_CONNECTIONS
        if settings.peer_fsft is not None:
            needed += POOL_KEPT["fsft"]
    limit, used = connections_in_use()
    used -= 1  # the run's own lock (hold_server), counted in BENCH_CONNECTIONS
    log(f"PostgreSQL: up to {needed} connections for this run; {used} of {limit} in use now")
    if used + needed > limit:
        raise BenchError(
            f"PostgreSQL allows {limit} connections, {used} are in use by other clients and this "
            f"run may hold up to {needed}: stop what holds them (pg_stat_activity says which) "
            "or raise max_connections"
        )


def run_benchmark(settings: Settings, stack: ExitStack, outcome: Outcome) -> None:
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
    log(f"modes: {', '.join(settings.modes)}; rows: {settings.rows}; load: {settings.generator}")
    hold_server(stack)
    check_connections(settings)

    users = make_users(settings.rows)
    # The superuser reads every user; users[1] reads its own record during the flood; users[2]
    # logs in again and again in the POST /auth/token load (its sessions, nobody else's, end).
    superuser, flood_user, login_user = users[0], users[1], users[2]
    ids = [str(user.id) for user in users]
    ids_file = workdir / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")

    projects: dict[str, Path] = {}
    for mode in settings.modes:
        log(f"bake {mode} (postgresql, uuid); database bench_{mode}")
        answers = mode_answers(mode, "postgresql", mode_is_choice=settings.mode_is_choice)
        projects[mode] = bake(settings.template, workdir, f"{mode}-postgresql", answers)
        prepare_database(projects[mode], f"bench_{mode}", users, stack)

    if settings.only == LOGIN_FLOOD:
        run_floods(settings, projects, flood_user, stack, outcome)
        return

    # The baseline's projects, for the modes both templates have: baked and migrated by it.
    baselines: dict[str, Path] = {}
    if settings.baseline is not None:
        outcome.baseline = f"{settings.baseline.resolve()} at " + (
            template_revision(settings.baseline) or "?"
        )
        for mode in settings.baseline_modes:
            if mode not in projects:
                log(f"baseline: no {mode} mode in {settings.template}; not served")
                continue
            log(f"bake {mode}{BASELINE_SUFFIX} from {settings.baseline}")
            answers = mode_answers(
                mode, "postgresql", mode_is_choice=settings.baseline_mode_is_choice
            )
            baselines[mode] = bake(settings.baseline, workdir, f"{mode}-base", answers)
            prepare_database(baselines[mode], f"bench_{mode}_base", users, stack)

    # The reference reads a copy of its own: the first project's schema, the same rows; each
    # tutorial app a copy of that, made before anything connects to it.
    reference_db = f"bench_{REFERENCE}"
    prepare_database(projects[settings.modes[0]], reference_db, users, stack)
    tutorial_dbs = {mode: f"bench_tutorial_{mode}" for mode in settings.modes}
    for database in tutorial_dbs.values():
        stack.callback(drop_database, database)
        copy_database(reference_db, database)

    peer = None
    if settings.peer_fsft is not None:
        peer = set_up_fsft(settings.peer_fsft, workdir, stack)
        outcome.fsft = peer.description

    # Every server runs from here on, one at a time under load, the others idle. The projects
    # first: the bench's own apps accept the token a login to a project gives.
    sample = users[len(users) // 2]
    to_serve = [
        (mode, project, f"bench_{mode}", PROJECT_GETS) for mode, project in projects.items()
    ]
    to_serve += [
        (f"{mode}{BASELINE_SUFFIX}", project, f"bench_{mode}_base", BASELINE_GETS)
        for mode, project in baselines.items()
    ]
    served: list[Served] = []
    for label, project, database, gets in to_serve:
        log(f"serve {label}")
        server = serve_project(label, project, database, stack)
        log(f"{label}: log in as the superuser")
        server.bearer = log_in(server, superuser)
        check_user_response(server, "/users/me", superuser)
        check_user_response(server, f"/users/{sample.id}", sample)
        served.append(Served(server, ServerResult(label, server.cold_start_s), gets, database))
    token = served[0].server.bearer or ""
    jwt_env = token_env(token)

    log(f"serve {REFERENCE} (raw: Starlette, psycopg pool, PyJWT)")
    server = serve_reference(reference_db, jwt_env, stack)
    server.bearer = token
    check_user_response(server, f"/users/{sample.id}", sample, authenticated=False)
    check_user_response(server, "/users/me", superuser)
    reference = Served(
        server, ServerResult(REFERENCE, server.cold_start_s), REFERENCE_GETS, reference_db
    )
    peers: list[Served] = []
    for mode, database in tutorial_dbs.items():
        log(f"serve {TUTORIAL}{mode}")
        server = serve_tutorial(mode, database, jwt_env, stack)
        server.bearer = token
        check_user_response(server, "/users/me", superuser)
        result = ServerResult(server.label, server.cold_start_s)
        peers.append(Served(server, result, PEER_GETS, database))
    if peer is not None:
        log(f"serve {FSFT}")
        server = serve_fsft(peer, stack)
        log_in_fsft(server)
        peers.append(
            Served(server, ServerResult(FSFT, server.cold_start_s), PEER_GETS, FSFT_DATABASE)
        )

    # The order of the report's tables and of the first round.
    new = [one for one in served if one.label in projects]
    based = [one for one in served if one.label not in projects]
    every = [reference, *new, *peers, *based]
    outcome.servers = [one.result for one in every]
    sessions_before = [sessions_opened(one.database) for one in every]
    for one in every:
        one.specs = get_specs(settings, one.server, one.gets, ids_file, ids)

    # The memory phase (which also warms them up) for the reference and the projects; a
    # warm-up for the others.
    measure_memory(settings, reference.server, reference.result, ids, {})
    for one in new:
        measure_memory(settings, one.server, one.result, ids, one.server.auth_headers)
    for one in (*peers, *based):
        warm_up(settings, one)

    # Rounds, the servers in turn (in a rotated order each round), so that a burst of
    # background load on the machine hits every server alike; the report takes medians.
    for number in range(settings.rounds):
        log(f"round {number + 1} of {settings.rounds}")
        shift = number % len(every)
        order = every[shift:] + every[:shift]
        for group in ROUND_GROUPS:
            for one in order:
                for spec in one.specs:
                    if spec.name in group:
                        one.result.add(spec.name, run_load(settings, one.server, spec))

    # The burst first, on a worker idle since its GETs: nothing else hashing meanwhile.
    if settings.with_burst:
        for one in new:
            one.result.burst = signup_burst(one.server)
    # POST /users, then POST /auth/token: each project next to its baseline's, for their ratio
    # (the project first for the one, second for the other).
    posting = sorted(new + based, key=lambda one: one.label)
    for index in range(2):
        for one in posting if index == 0 else posting[::-1]:
            spec = post_specs(settings, one.label, login_user)[index]
            one.result.add(spec.name, run_load(settings, one.server, spec))

    for one, before in zip(every, sessions_before, strict=True):
        one.result.pg_sessions = sessions_opened(one.database) - before
    for one in every:
        stop_server(one.server)

    # After every other server has stopped: nothing else uses the machine's cores meanwhile.
    if settings.with_flood:
        run_floods(settings, projects, flood_user, stack, outcome)

    if settings.with_suites:
        run_suites(settings, workdir, projects, stack, outcome)

    if settings.with_template_suite:
        outcome.template_suite = run_template_suite(settings)
