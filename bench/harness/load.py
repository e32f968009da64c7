"""Load generators: wrk, and a Python fallback (asyncio + httpx2) with exact request counts."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx2

from .config import BENCH_DIR, LOAD_SLACK_S, PASSWORD, RAW_DIR, BenchError, Settings, log, slug
from .results import LoadResult
from .servers import Server, run_command

# uvloop (installed with uvicorn[standard]) makes the Python generator ~25 % faster.
LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None
try:
    import uvloop

    LOOP_FACTORY = uvloop.new_event_loop
except ImportError:  # pragma: no cover - plain asyncio then
    LOOP_FACTORY = None

# The n-th request of a run: method, path, body.
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
    headers: dict[str, str] = field(default_factory=dict)  # on every request (wrk: --header)


def parse_wrk(output: str) -> LoadResult:
    """Requests/s of 2xx responses, p50 and p99 from `wrk --latency` output; the errors.

    wrk's own Requests/sec counts every response; error responses are taken out here, so a
    server that answers errors quickly does not look fast. Its latency percentiles cannot be
    split and include them.
    """

    def search(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise BenchError(f"unexpected wrk output (no {pattern!r}):\n{output}")
        return match

    def percentile_ms(percent: int) -> float:
        match = search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$")
        return float(match.group(1)) * TIME_UNITS_MS[match.group(2)]

    totals = search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)")
    requests = int(totals.group(1))
    seconds = float(totals.group(2)) * TIME_UNITS_MS[totals.group(3)] / 1000
    non_2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = sum(int(value) for value in sockets.groups()) if sockets else 0
    return LoadResult(
        generator="wrk",
        requests=requests,
        seconds=seconds,
        rps=max(0, requests - non_2xx) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile_ms(50),
        p99_ms=percentile_ms(99),
        errors=non_2xx + socket_errors,
    )


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
    # wrk.format() starts from wrk.headers, which --header fills: scripts send these too.
    command += [f"--header={name}: {value}" for name, value in spec.headers.items()]
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
    headers: Mapping[str, str],
    connections: int,
    duration_s: float | None,
    count: int | None,
) -> LoadResult:
    limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
    # A body is JSON unless the run's headers say otherwise (the login form).
    typed = any(name.lower() == "content-type" for name in headers)
    body_headers = None if typed else {"Content-Type": "application/json"}
    latencies: list[float] = []
    successes = 0
    errors = 0
    issued = 0
    # trust_env=False: never through a proxy from the environment; the traffic stays local.
    async with httpx2.AsyncClient(
        base_url=base_url, limits=limits, timeout=30.0, trust_env=False, headers=dict(headers)
    ) as client:
        started = time.perf_counter()
        deadline = started + duration_s if duration_s is not None else math.inf

        async def worker() -> None:
            nonlocal errors, issued, successes
            while (count is None or issued < count) and time.perf_counter() < deadline:
                method, path, body = factory(issued)
                issued += 1
                extra = body_headers if body is not None else None
                sent = time.perf_counter()
                try:
                    response = await client.request(method, path, content=body, headers=extra)
                except httpx2.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                if response.is_success:
                    successes += 1
                else:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        generator="python",
        requests=len(latencies),
        seconds=elapsed,
        rps=successes / elapsed,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        errors=errors,
    )


def python_load(
    base_url: str,
    factory: RequestFactory,
    connections: int,
    *,
    headers: Mapping[str, str] | None = None,
    duration_s: float | None = None,
    count: int | None = None,
) -> LoadResult:
    """Keep `connections` keep-alive connections busy for `duration_s`, or for `count` requests."""
    bound = (duration_s or 0) + LOAD_SLACK_S + (count or 0) * 0.05
    run = _python_load(base_url, factory, headers or {}, connections, duration_s, count)
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(asyncio.wait_for(run, bound))


def get_user_factory(ids: Sequence[str]) -> RequestFactory:
    def factory(index: int) -> tuple[str, str, bytes | None]:
        # A stride prime to any small id count: every id in turn, in a scattered order.
        return "GET", f"/users/{ids[(index * 7919) % len(ids)]}", None

    return factory


def get_factory(path: str) -> RequestFactory:
    def factory(_index: int) -> tuple[str, str, bytes | None]:
        return "GET", path, None

    return factory


def signup_body(email: str, password: str) -> bytes:
    return json.dumps({"email": email, "password": password}).encode()


def post_user_factory(prefix: str) -> RequestFactory:
    def factory(index: int) -> tuple[str, str, bytes | None]:
        return "POST", "/users", signup_body(f"{prefix}-{index}@example.com", f"{PASSWORD}-{index}")

    return factory


def post_token_factory(email: str, password: str) -> RequestFactory:
    """The same login every time: the OAuth2 password grant, as a form."""
    form = urllib.parse.urlencode(
        {"grant_type": "password", "username": email, "password": password}
    ).encode()

    def factory(_index: int) -> tuple[str, str, bytes | None]:
        return "POST", "/auth/token", form

    return factory


def run_load(settings: Settings, server: Server, spec: LoadSpec) -> LoadResult:
    log(
        f"{server.label}: {spec.name}, {spec.connections} connections, "
        f"{spec.duration_s:g} s ({settings.generator})"
    )
    if settings.generator == "wrk":
        return run_wrk(settings, server.base_url, spec, server.label)
    return python_load(
        server.base_url,
        spec.factory,
        spec.connections,
        headers=spec.headers,
        duration_s=spec.duration_s,
    )
