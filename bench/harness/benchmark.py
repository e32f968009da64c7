"""The whole run, step by step: bake, load the databases, serve, measure, time the suites."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from pathlib import Path

from .config import (
    BENCH_DIR,
    FLOOD_ADDRESS_LIMIT,
    GET_HEALTH,
    GET_ME,
    GET_USER,
    GET_USER_PLAIN,
    LOGIN_FLOOD,
    PG_SERVER,
    POST_USER,
    REFERENCE,
    VENV_BIN,
    Settings,
    log,
)
from .databases import (
    UserRow,
    create_database,
    drop_database,
    load_users,
    make_users,
    sessions_opened,
)
from .flood import login_flood
from .load import LoadSpec, get_factory, get_user_factory, post_user_factory, run_load
from .memory import measure_memory, signup_burst
from .projects import (
    app_env,
    bake,
    base_env,
    check_user_response,
    log_in,
    migrate,
    mode_answers,
    server_options,
)
from .results import Outcome, ServerResult
from .servers import Server, start_server, stop_server
from .suites import run_suites, run_template_suite

# The GET loads of a round, in this order; in each group, every server in turn. The reference's
# plain lookup runs in the same group as the projects' authenticated ones: its ratio partner.
ROUND_GROUPS = ((GET_USER_PLAIN, GET_USER), (GET_ME,), (GET_HEALTH,))
UVICORN: list[str | Path] = [VENV_BIN / "uvicorn", "--factory", "--workers", "1"]


def serve_project(
    label: str,
    project: Path,
    database: str,
    stack: contextlib.ExitStack,
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
    stack: contextlib.ExitStack,
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


def get_specs(settings: Settings, server: Server, ids_file: Path, ids: list[str]) -> list[LoadSpec]:
    """The GET loads of one server: the lookup, /users/me (projects only) and /health.

    The projects' requests carry the superuser's token (one login per server, one token for
    every connection), so that every id answers 200; the reference has no authentication.
    """

    def spec(name: str, path: str) -> LoadSpec:
        lookup = path == "/users"
        return LoadSpec(
            name,
            path,
            BENCH_DIR / "get_user.lua" if lookup else None,
            [str(ids_file)] if lookup else [],
            get_user_factory(ids) if lookup else get_factory(path),
            settings.duration_s,
            settings.connections,
            server.auth_headers,
        )

    if server.bearer is None:
        return [spec(GET_USER_PLAIN, "/users"), spec(GET_HEALTH, "/health")]
    return [spec(GET_USER, "/users"), spec(GET_ME, "/users/me"), spec(GET_HEALTH, "/health")]


def run_benchmark(settings: Settings, stack: contextlib.ExitStack, outcome: Outcome) -> None:
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
    log(f"modes: {', '.join(settings.modes)}; rows: {settings.rows}; load: {settings.generator}")

    users = make_users(settings.rows)
    superuser = users[0]
    ids = [str(user.id) for user in users]
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

    # A regular user reads its own record during the flood.
    if settings.only == LOGIN_FLOOD:
        run_floods(settings, projects, users[1], stack, outcome)
        return

    # The reference reads a copy of its own: the first project's schema, the same rows.
    reference_db = f"bench_{REFERENCE}"
    stack.callback(drop_database, reference_db)
    create_database(reference_db)
    migrate(projects[settings.modes[0]], reference_db)
    load_users(reference_db, users)

    databases = [reference_db, *(f"bench_{mode}" for mode in settings.modes)]
    sessions_before = [sessions_opened(database) for database in databases]

    # Every server runs from here on, one at a time under load, the others idle.
    log(f"serve {REFERENCE}")
    servers = [
        start_server(
            REFERENCE,
            # No app logging config of its own: uvicorn's, access log off, warnings only.
            [
                *UVICORN,
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
        servers.append(serve_project(mode, projects[mode], f"bench_{mode}", stack))
    results = [ServerResult(server.label, server.cold_start_s) for server in servers]
    outcome.servers = results

    sample = users[len(users) // 2]
    for server, result in zip(servers, results, strict=True):
        if server.label != REFERENCE:
            log(f"{server.label}: log in as the superuser")
            server.bearer = log_in(server, superuser)
            check_user_response(server, "/users/me", superuser)
        check_user_response(server, f"/users/{sample.id}", sample)
        measure_memory(settings, server, result, ids)  # also warms every server up

    # Rounds, the servers in turn (in a rotated order each round), so that a burst of
    # background load on the machine hits every server alike; the report takes medians.
    served = [
        (server, result, get_specs(settings, server, ids_file, ids))
        for server, result in zip(servers, results, strict=True)
    ]
    for number in range(settings.rounds):
        log(f"round {number + 1} of {settings.rounds}")
        order = served[number % len(served) :] + served[: number % len(served)]
        for group in ROUND_GROUPS:
            for server, result, specs in order:
                for spec in specs:
                    if spec.name in group:
                        result.add(spec.name, run_load(settings, server, spec))

    for server, result, _ in served[1:]:
        # The burst first, on a worker idle since its GETs: nothing else hashing meanwhile.
        if settings.with_burst:
            result.burst = signup_burst(server)
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

    # After every other server has stopped: nothing else uses the machine's cores meanwhile.
    if settings.with_flood:
        run_floods(settings, projects, users[1], stack, outcome)

    if settings.with_suites:
        run_suites(settings, workdir, projects, stack, outcome)

    if settings.with_template_suite:
        outcome.template_suite = run_template_suite(settings)
