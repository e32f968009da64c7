"""The serving process's memory: RSS after N and 2N requests; its peak during sign-ups."""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
import uuid
from pathlib import Path

from .config import (
    BURST_SAMPLE_S,
    BURST_SIGNUPS,
    HOST,
    HTTP_TIMEOUT_S,
    PASSWORD,
    BenchError,
    Settings,
    log,
)
from .load import get_user_factory, python_load, signup_body
from .results import BurstResult, ServerResult
from .servers import Server, http_request, log_tail, serving_pid

HEALTH_POLL_TIMEOUT_S = 5.0  # a poll that takes longer counts as failed, at this latency


def status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status: VmRSS (resident now) or VmHWM (its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise BenchError(f"no {field} for process {pid}")


def rss_kib(pid: int) -> int:
    return status_kib(pid, "VmRSS")


def reset_peak_rss(pid: int) -> bool:
    """Set VmHWM back to the current RSS (Linux 4.0+); False where that is not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure_memory(
    settings: Settings,
    server: Server,
    result: ServerResult,
    ids: list[str],
    headers: dict[str, str],
) -> None:
    """RSS of the serving process after N and after 2N GET /users/{id} (an exact count).

    `headers`: the lookup's (the projects' bearer token; none for the reference's plain lookup).
    """
    pid = serving_pid(server)
    result.rss_start_kib = rss_kib(pid)
    count = settings.memory_requests
    log(f"{server.label}: {count:,} + {count:,} GET /users/{{id}} (memory)")
    users = get_user_factory(ids)
    first = python_load(server.base_url, users, settings.connections, headers=headers, count=count)
    result.rss_first_kib = rss_kib(pid)
    second = python_load(
        server.base_url,
        lambda index: users(index + count),
        settings.connections,
        headers=headers,
        count=count,
    )
    result.rss_second_kib = rss_kib(pid)
    if first.errors or second.errors:
        raise BenchError(
            f"{server.label}: {first.errors + second.errors} failed requests (its log: "
            f"{server.log_path})\n{log_tail(server)[-1000:]}"
        )


class _Sampler(threading.Thread):
    """A thread that samples something every BURST_SAMPLE_S until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=HEALTH_POLL_TIMEOUT_S + 5)


class _RssSampler(_Sampler):
    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid = pid
        self.peak_kib = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            with contextlib.suppress(OSError, BenchError):
                self.peak_kib = max(self.peak_kib, rss_kib(self.pid))
            self.stopping.wait(BURST_SAMPLE_S)


class _HealthPoller(_Sampler):
    """GET /health on a new connection each time, as a liveness probe asks; (start, latency)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.polls: list[tuple[float, float]] = []
        self.failed: list[float] = []  # start times of polls without a 200

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.perf_counter()
            try:
                status, _ = http_request(self.port, "GET", "/health", timeout=HEALTH_POLL_TIMEOUT_S)
            except OSError:
                status = 0
            self.polls.append((started, time.perf_counter() - started))
            if status != 200:
                self.failed.append(started)
            self.stopping.wait(BURST_SAMPLE_S)


def _sign_up(port: int, body: bytes, ready: threading.Barrier, outcome: list[str]) -> None:
    """One sign-up on a connection opened beforehand, sent when every other one is ready."""
    connection = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT_S * 4)
    try:
        connection.connect()
        ready.wait(timeout=HTTP_TIMEOUT_S)
        connection.request("POST", "/users", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        outcome.append(str(response.status))
    except (OSError, threading.BrokenBarrierError) as error:
        outcome.append(error.__class__.__name__)
    finally:
        connection.close()


def signup_burst(server: Server) -> BurstResult:
    """BURST_SIGNUPS concurrent POST /users (new emails) on the one worker.

    Meanwhile the worker's RSS is polled every BURST_SAMPLE_S and its VmHWM (reset first) read
    at the end, and GET /health is polled as a liveness probe would.
    """
    log(f"{server.label}: {BURST_SIGNUPS} concurrent POST /users (sign-up burst)")
    pid = serving_pid(server)
    rss_before = rss_kib(pid)
    hwm_reset = reset_peak_rss(pid)
    rss_sampler = _RssSampler(pid)
    health = _HealthPoller(server.port)
    prefix = f"burst-{server.label}-{uuid.uuid4().hex[:8]}"
    statuses: list[str] = []
    ready = threading.Barrier(BURST_SIGNUPS + 1)
    signups = [
        threading.Thread(
            target=_sign_up,
            args=(
                server.port,
                signup_body(f"{prefix}-{number}@example.com", f"{PASSWORD}-{number}"),
                ready,
                statuses,
            ),
            daemon=True,
        )
        for number in range(BURST_SIGNUPS)
    ]
    rss_sampler.start()
    health.start()
    for thread in signups:
        thread.start()
    # A sign-up that was not ready in time reports it.
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout=HTTP_TIMEOUT_S)
    started = time.perf_counter()
    for thread in signups:
        thread.join(timeout=HTTP_TIMEOUT_S * 5)
    ended = time.perf_counter()
    rss_sampler.stop()
    health.stop()
    hwm = status_kib(pid, "VmHWM") if hwm_reset else None
    # The polls that overlapped the burst.
    during = [
        (start, latency)
        for start, latency in health.polls
        if start <= ended and start + latency >= started
    ]
    missing = BURST_SIGNUPS - len(statuses)
    return BurstResult(
        signups=BURST_SIGNUPS,
        created=statuses.count("201"),
        failures=[status for status in statuses if status != "201"] + ["no answer"] * missing,
        seconds=ended - started,
        rss_before_kib=rss_before,
        rss_polled_kib=rss_sampler.peak_kib,
        rss_hwm_kib=hwm,
        health_latencies_s=sorted(latency for _, latency in during),
        health_failures=sum(1 for start in health.failed if start <= ended),
    )
