"""Many replicas: migrations started together, a stalled database, PgBouncer, several workers."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import httpx2
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, text

from tests.conftest import (
    Baked,
    Served,
    combination_params,
    database_url_on_server,
    drop_database,
    recreate_database,
    require_postgres,
    running_in_ci,
    serving,
)
from tests.mail import free_port
from tests.tcp_proxy import TcpProxy
from tests.test_served_app import CONCURRENT_SIGN_UPS, bearer, log_in, sign_up_at_once

RUNNERS = 4
WORKERS = 4
CONNECT_TIMEOUT = 2
READS = 100
DATABASE_PASSWORD = "never-shown-password"


def only(*ids: str) -> pytest.MarkDecorator:
    """Parametrise over the named combinations only: these checks are heavy."""
    params = [param for param in combination_params() if param.id in ids]
    assert len(params) == len(ids)
    return pytest.mark.parametrize("baked", params, indirect=True)


def head_revision(baked: Baked) -> str | None:
    """The newest revision of the project's migrations."""
    config = Config(baked.path / "backend/alembic.ini")
    return ScriptDirectory.from_config(config).get_current_head()


def forward(source: socket.socket, sink: socket.socket) -> None:
    """Copy one direction of a connection until it ends."""
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextmanager
def gate(target: tuple[str, int], count: int) -> Iterator[int]:
    """A port that holds connections to `target` until `count` have come, then lets all through.

    Processes that start together still take a second or more to connect, unevenly: the gate
    makes them reach the database at the same moment.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    sockets = [listener]

    def admit() -> None:
        clients = []
        with suppress(OSError):  # the test ended before every client came
            for _ in range(count):
                client, _ = listener.accept()
                sockets.append(client)
                clients.append(client)
        for client in clients:
            upstream = socket.create_connection(target)
            sockets.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=forward, args=(source, sink), daemon=True).start()

    threading.Thread(target=admit, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@contextmanager
def running_together(
    baked: Baked, count: int, *command: str, env: dict[str, str]
) -> Iterator[list[subprocess.Popen[str]]]:
    """`count` copies of `command`, started at once; any still running at the end are killed."""
    processes: list[subprocess.Popen[str]] = []
    try:
        for _ in range(count):
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=baked.path,
                    env={**baked.env, **env},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


@only("postgresql-uuid-sync", "postgresql-int-async")
def test_replicas_that_start_together_migrate_once(baked: Baked) -> None:
    server = require_postgres()
    name = f"{make_url(baked.env['TEST_DATABASE_URL']).database}_replicas"
    direct = make_url(database_url_on_server(server, name))
    recreate_database(server, name)
    try:
        with gate((direct.host or "127.0.0.1", direct.port or 5432), RUNNERS) as port:
            env = {
                "DATABASE_URL": direct.set(host="127.0.0.1", port=port).render_as_string(
                    hide_password=False
                ),
                # The first runners wait at the gate for the last one.
                "DB_CONNECT_TIMEOUT": "60",
            }
            with running_together(
                baked, RUNNERS, "make", "--no-print-directory", "db-upgrade", env=env
            ) as runners:
                outputs = [runner.communicate(timeout=120) for runner in runners]
        engine = create_engine(direct)
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        engine.dispose()
    finally:
        drop_database(server, name)

    failures = [
        f"exit {runner.returncode}:\n{stderr}"
        for runner, (_, stderr) in zip(runners, outputs, strict=True)
        if runner.returncode != 0
    ]
    assert not failures, "\n".join(failures)
    assert [version for (version,) in versions] == [head_revision(baked)]
    # One runner migrated; the others waited for it, then found nothing to do.
    migrated = [stderr for _, stderr in outputs if "Running upgrade  -> 0001" in stderr]
    assert len(migrated) == 1


@only("postgresql-uuid-sync", "postgresql-int-async")
def test_migrations_give_up_on_a_stalled_database_with_one_line(baked: Baked) -> None:
    stalled = TcpProxy("127.0.0.1", 9)
    stalled.start(stalled=True)
    url = f"postgresql+psycopg://postgres:{DATABASE_PASSWORD}@127.0.0.1:{stalled.port}/app"
    env = {**baked.env, "DATABASE_URL": url, "DB_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)}
    started = time.monotonic()
    try:
        result = subprocess.run(
            ["make", "--no-print-directory", "db-upgrade"],
            cwd=baked.path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=CONNECT_TIMEOUT + 15,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"make db-upgrade still waited for the database after {CONNECT_TIMEOUT + 15} s")
    finally:
        # Also ends an alembic left waiting by the timeout above.
        stalled.stop()
    took = time.monotonic() - started

    # make adds its own "make: *** [...] Error 1" after the command's line.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    shown_url = url.replace(DATABASE_PASSWORD, "***")
    reason = f"timed out after {CONNECT_TIMEOUT} s"
    expected = f"error: cannot connect to the database at {shown_url} ({reason})"
    assert result.returncode != 0
    assert lines == [expected], result.stderr
    assert DATABASE_PASSWORD not in result.stdout + result.stderr
    # Bounded, not hung: the connect timeout plus the start-up of make, Python and Alembic on a
    # machine that is busy with the rest of the suite.
    assert took < CONNECT_TIMEOUT + 10


def keeps_no_prepared_statements(executable: str) -> str:
    """The setting that keeps PgBouncer 1.21 and later from managing prepared statements.

    Those versions can keep them in transaction mode; the test plays a pooler that cannot, as
    older versions and other poolers.
    """
    version = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, check=True
    ).stdout
    major, minor = (int(part) for part in version.split()[1].split(".")[:2])
    return "max_prepared_statements = 0\n" if (major, minor) >= (1, 21) else ""


@contextmanager
def pgbouncer(directory: Path, server_url: str) -> Iterator[tuple[str, int]]:
    """PgBouncer in transaction mode in front of the server, on a free port; stopped at the end."""
    executable = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(executable).exists():
        reason = "PgBouncer is not installed (apt-get install pgbouncer)"
        if running_in_ci():
            pytest.fail(f"CI requires PgBouncer: {reason}")
        pytest.skip(reason)
    server = make_url(server_url)
    port = free_port()
    users = directory / "users.txt"
    users.write_text(f'"{server.username}" "{server.password or ""}"\n', encoding="utf-8")
    config = directory / "pgbouncer.ini"
    config.write_text(
        f"""\
[databases]
* = host={server.host or "127.0.0.1"} port={server.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
; TCP only: no socket file to clash with a real server's, or to clean up.
unix_socket_dir =
auth_type = trust
auth_file = {users}
pool_mode = transaction
{keeps_no_prepared_statements(executable)}max_client_conn = 200
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
""",
        encoding="utf-8",
    )
    command = [executable, str(config)]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root.
        command[1:1] = ["-u", "nobody"]
    log_path = directory / "pgbouncer.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                pass
            assert process.poll() is None, f"PgBouncer exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, "PgBouncer did not listen within 10 s"
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def read_me_at_once(url: str, token: str, count: int) -> list[httpx2.Response]:
    limits = httpx2.Limits(max_connections=count)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        return await asyncio.gather(
            *(client.get("/users/me", headers=bearer(token)) for _ in range(count))
        )


def check_sign_ups_and_reads(served: Served) -> None:
    """One 201 in the sign-up race; the winner logs in and reads its record; readiness is 200.

    The reads run many at once: enough for psycopg to prepare statements, if it may.
    """
    statuses = asyncio.run(sign_up_at_once(served.url, CONCURRENT_SIGN_UPS))
    with httpx2.Client(base_url=served.url, timeout=10) as client:
        login = log_in(client, "Same@Example.com")
        ready = client.get("/health/ready")
    reads = asyncio.run(read_me_at_once(served.url, login.json()["access_token"], READS))

    assert statuses == Counter({201: 1, 409: CONCURRENT_SIGN_UPS - 1})
    assert login.status_code == 200
    assert Counter(read.status_code for read in reads) == Counter({200: READS})
    assert {read.json()["email"].lower() for read in reads} == {"same@example.com"}
    assert ready.status_code == 200


@only("postgresql-uuid-sync", "postgresql-int-async")
def test_served_behind_pgbouncer_in_transaction_mode(baked: Baked, tmp_path: Path) -> None:
    server = require_postgres()
    with ExitStack() as stack:
        bouncer = stack.enter_context(pgbouncer(tmp_path, server))
        served = stack.enter_context(
            serving(
                baked,
                tmp_path,
                database_address=bouncer,
                env={"DB_PREPARED_STATEMENTS": "false"},
            )
        )
        check_sign_ups_and_reads(served)
        check_a_locked_read_is_a_quick_503(served)


def check_a_locked_read_is_a_quick_503(served: Served) -> None:
    """A read that waits for a lock ends at the statement timeout, which the role carries.

    Behind PgBouncer in transaction mode no session-level setting of the app's would hold; the
    server gives every session of the role the timeout the migrations set (3 s here).
    """
    with httpx2.Client(base_url=served.url, timeout=30) as client:
        headers = bearer(log_in(client, "Same@Example.com").json())
        locker = create_engine(served.database_url)
        try:
            with locker.connect() as connection:
                connection.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
                started = time.monotonic()
                locked = client.get("/users/me", headers=headers)
                waited = time.monotonic() - started
                connection.rollback()
        finally:
            locker.dispose()

    assert locked.status_code == 503, locked.text
    assert locked.json()["code"] == "database_unavailable"
    assert 3 <= waited < 6, waited


ESTABLISHED, LISTEN = "01", "0A"


def tcp_sockets() -> list[tuple[int, int, str, int]]:
    """(local port, remote port, state, inode) of every IPv4 TCP socket on the machine."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    sockets = []
    for row in rows:
        fields = row.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        sockets.append(
            (int(local.split(":")[1], 16), int(remote.split(":")[1], 16), state, int(inode))
        )
    return sockets


def open_files(pid: int) -> set[str]:
    """What the process's file descriptors point at: paths, and `socket:[inode]`."""
    targets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):  # closed meanwhile
            targets.add(str(fd.readlink()))
    return targets


def parent(pid: int) -> int:
    # The command name, in parentheses, may hold spaces: the fields after it are fixed.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def worker_processes(port: int) -> list[int]:
    """The processes that accept connections on `port`, without the uvicorn that spawned them."""
    listeners = {
        inode for local, _, state, inode in tcp_sockets() if (local, state) == (port, LISTEN)
    }
    holders = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                files = open_files(int(entry.name))
            except OSError:  # gone, or not ours
                continue
            if any(f"socket:[{inode}]" in files for inode in listeners):
                holders.append(int(entry.name))
    return [pid for pid in holders if parent(pid) in holders]


def holds_database(pid: int, served: Served) -> bool:
    """Whether the worker keeps a connection to the database open: it served a request."""
    files = open_files(pid)
    if served.proxy is None:
        return make_url(served.database_url).database in files
    return any(
        f"socket:[{inode}]" in files
        for _, remote, state, inode in tcp_sockets()
        if (remote, state) == (served.proxy.port, ESTABLISHED)
    )


@only("sqlite-int-async", "postgresql-uuid-sync")
def test_several_workers_share_the_sign_up_race(baked: Baked, tmp_path: Path) -> None:
    with serving(baked, tmp_path, workers=WORKERS) as served:
        workers = worker_processes(int(served.url.rsplit(":", 1)[1]))
        check_sign_ups_and_reads(served)
        serving_workers = [pid for pid in workers if holds_database(pid, served)]

    assert len(workers) == WORKERS
    assert len(serving_workers) > 1
