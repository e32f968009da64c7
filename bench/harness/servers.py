"""Commands and servers: run to completion, start and wait for /health, stop, find the worker."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import (
    HOST,
    HTTP_TIMEOUT_S,
    RAW_DIR,
    SERVER_START_TIMEOUT_S,
    SERVER_STOP_TIMEOUT_S,
    BenchError,
)


def run_command(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float,
    what: str,
    log_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; raise BenchError (with its output) when it fails.

    The command runs in a process group of its own, killed whole when it times out or when the
    run is interrupted (Ctrl-C, SIGTERM): what it spawned (pip, ensurepip, uv, a build) stops
    with it instead of writing into a temporary directory being removed.
    """
    command = [str(arg) for arg in args]
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            kill_group(process)
            raise BenchError(f"{what}: still running after {timeout:.0f} s") from error
        except BaseException:
            kill_group(process)
            raise
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if log_path is not None:
        log_path.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise BenchError(f"{what}: exit status {result.returncode}\n{tail}")
    return result


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL a process started in a session of its own, and everything in its group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@dataclass
class Server:
    label: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    cold_start_s: float = 0.0
    stopped: bool = False
    # Authorization header value for the server's protected endpoints (GET /users/me; the
    # projects' lookup too): its own login's token, or for the bench's own apps a project's.
    bearer: str | None = None
    prefix: str = ""  # where its API lives: "" for this template's, "/api/v1" for FSFT's

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": self.bearer} if self.bearer else {}


def http_request(
    port: int,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = HTTP_TIMEOUT_S,
) -> tuple[int, bytes]:
    """One request on a connection of its own: the status and the body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def health_status(port: int, path: str = "/health") -> int | None:
    """The status of the health check, or None when nothing answers yet."""
    try:
        return http_request(port, "GET", path, timeout=2.0)[0]
    except OSError:
        return None


def start_server(
    label: str,
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: dict[str, str],
    stack: contextlib.ExitStack,
    health: str = "/health",
    prefix: str = "",
) -> Server:
    """Start a server, wait for its first 200 on `health`; the time taken is its cold start."""
    port = free_port()
    log_path = RAW_DIR / f"server-{label}.log"
    log_file = stack.enter_context(log_path.open("wb"))
    command = [str(arg) for arg in args] + ["--host", HOST, "--port", str(port)]
    started = time.perf_counter()
    # A session of its own, so that stopping it stops whatever it spawned too.
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )
    server = Server(label=label, process=process, port=port, log_path=log_path, prefix=prefix)
    stack.callback(stop_server, server)
    deadline = started + SERVER_START_TIMEOUT_S
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise BenchError(
                f"{label}: the server exited ({process.returncode})\n{log_tail(server)}"
            )
        if health_status(port, health) == 200:
            server.cold_start_s = time.perf_counter() - started
            return server
        time.sleep(0.005)
    raise BenchError(f"{label}: no 200 on {health} within {SERVER_START_TIMEOUT_S:.0f} s")


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
