"""The login flood: unknown-email logins from many clients on one worker, the app probed."""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .config import FLOOD_CLIENTS, FLOOD_LOGIN_TIMEOUT_S, FLOOD_PROBE_S, HTTP_TIMEOUT_S, log
from .memory import reset_peak_rss, rss_kib, status_kib
from .results import FloodResult
from .servers import Server, http_request, serving_pid

PROBE_TIMEOUT_S = 5.0  # a probe that takes longer counts as failed, at this latency
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class _Window:
    """When the clients were released, and when they stop sending."""

    started: float = 0.0
    deadline: float = 0.0


def _answer(
    port: int,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float,
) -> str:
    """One request on a new connection: its status, or the name of what went wrong."""
    try:
        status, _ = http_request(port, method, path, headers=headers, body=body, timeout=timeout)
    except (OSError, http.client.HTTPException) as error:
        return error.__class__.__name__
    return str(status)


def _login(port: int, form: Mapping[str, str]) -> str:
    """One login on a new connection: its status and the error's `code`, as "400 invalid_..."."""
    body = urllib.parse.urlencode(form).encode()
    try:
        status, answer = http_request(
            port, "POST", "/auth/token", headers=FORM, body=body, timeout=FLOOD_LOGIN_TIMEOUT_S
        )
    except (OSError, http.client.HTTPException) as error:
        return error.__class__.__name__
    try:
        code = json.loads(answer).get("code")
    except (ValueError, AttributeError):
        code = None
    return f"{status} {code}" if isinstance(code, str) else str(status)


def _counts(answers: Iterable[str]) -> dict[str, int]:
    return dict(sorted(collections.Counter(answers).items()))


def _flood_client(
    port: int, prefix: str, start: threading.Barrier, window: _Window, answers: list[str]
) -> None:
    """Logins of new unknown emails, one after another, until the window closes."""
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait(timeout=HTTP_TIMEOUT_S)
    sent = 0
    while time.perf_counter() < window.deadline:
        form = {"username": f"{prefix}-{sent}@example.com", "password": f"not-it-{sent:08d}"}
        answers.append(_login(port, form))
        sent += 1


class _Probe(threading.Thread):
    """GET `path` on a new connection FLOOD_PROBE_S after each answer, until the window closes."""

    def __init__(self, port: int, path: str, headers: Mapping[str, str], window: _Window) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.headers, self.window = port, path, headers, window
        self.answers: list[tuple[str, float]] = []  # status, latency

    def run(self) -> None:
        while time.perf_counter() < self.window.deadline:
            started = time.perf_counter()
            status = _answer(
                self.port, "GET", self.path, headers=self.headers, timeout=PROBE_TIMEOUT_S
            )
            self.answers.append((status, time.perf_counter() - started))
            time.sleep(FLOOD_PROBE_S)


def login_flood(server: Server, seconds: float) -> FloodResult:
    """FLOOD_CLIENTS clients post unknown-email logins for `seconds` on the one worker.

    The server's bearer token (a user logged in beforehand) reads GET /users/me meanwhile, and
    GET /health/ready is asked as a readiness probe would; both from the moment the clients are
    released until they stop sending. The worker's VmHWM is reset before and read after.
    """
    log(f"{server.label}: {FLOOD_CLIENTS} clients posting unknown-email logins for {seconds:g} s")
    pid = serving_pid(server)
    rss_before = rss_kib(pid)
    hwm_reset = reset_peak_rss(pid)
    window = _Window()

    def open_window() -> None:  # run by one thread as the barrier releases them all
        window.started = time.perf_counter()
        window.deadline = window.started + seconds

    start = threading.Barrier(FLOOD_CLIENTS + 1, action=open_window)
    prefix = f"flood-{server.label}-{uuid.uuid4().hex[:8]}"
    answers: list[str] = []
    clients = [
        threading.Thread(
            target=_flood_client,
            args=(server.port, f"{prefix}-{number}", start, window, answers),
            daemon=True,
        )
        for number in range(FLOOD_CLIENTS)
    ]
    for thread in clients:
        thread.start()
    start.wait(timeout=HTTP_TIMEOUT_S)
    probes = [
        _Probe(server.port, "/health/ready", {}, window),
        _Probe(server.port, "/users/me", server.auth_headers, window),
    ]
    for thread in probes:
        thread.start()
    for thread in (*clients, *probes):
        thread.join(timeout=seconds + FLOOD_LOGIN_TIMEOUT_S + HTTP_TIMEOUT_S)
    elapsed = time.perf_counter() - window.started
    ready, me = (probe.answers for probe in probes)
    return FloodResult(
        clients=FLOOD_CLIENTS,
        seconds=seconds,
        elapsed_s=elapsed,
        logins=_counts(answers),
        ready=_counts(status for status, _ in ready),
        me=_counts(status for status, _ in me),
        me_latencies_s=sorted(latency for _, latency in me),
        rss_before_kib=rss_before,
        rss_hwm_kib=status_kib(pid, "VmHWM") if hwm_reset else None,
    )
