"""The report: targets met or not, the tables, the machine; RESULTS.md and stdout."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import math
import os
import platform
import re
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import (
    ANALYSIS,
    BASELINE_SUFFIX,
    BURST_SAMPLE_S,
    BURST_SIGNUPS,
    FLOOD_ADDRESS_LIMIT,
    FLOOD_CLIENTS,
    FLOOD_LOGIN_ANSWER,
    FLOOD_LOGIN_TIMEOUT_S,
    FLOOD_PROBE_S,
    FSFT,
    FSFT_API,
    GET_ME,
    GET_USER,
    LOGIN_FLOOD,
    PASSWORD,
    POST_TOKEN,
    POST_USER,
    REFERENCE,
    REFERENCE_ENDPOINT,
    TARGET_BURST_HEALTH_S,
    TARGET_BURST_RSS_MIB,
    TARGET_FLOOD_ME_P95_S,
    TARGET_ME_OVER_FSFT,
    TARGET_ME_OVER_RAW,
    TARGET_ME_OVER_TUTORIAL,
    TARGET_MEMORY_GROWTH_PCT,
    TARGET_OVER_BASELINE,
    TARGET_SUITE_POSTGRESQL_S,
    TARGET_SUITE_SQLITE_S,
    TARGET_TEMPLATE_SUITE_S,
    TUTORIAL,
    WARMUP_REQUESTS,
    Settings,
)
from .databases import postgres_version, project_hasher
from .load import LOOP_FACTORY, percentile
from .results import FloodResult, LoadSummary, Outcome, ServerResult, SuiteResult, SuiteRun


@dataclass
class Target:
    name: str
    measured: str
    threshold: str
    met: bool | None  # None: not measured, or reported only
    report_only: bool = False  # a figure to read, held to no threshold

    @property
    def status(self) -> str:
        if self.met is None:
            return "reported" if self.report_only else "not measured"
        return "met" if self.met else "**NOT MET**"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


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


# --------------------------------------------------------------------------------------------
# Targets


def round_ratios(load: LoadSummary, reference: LoadSummary) -> list[float]:
    """req/s over the reference's, round by round: each pair ran in the same round."""
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


def ratio_target(
    name: str,
    minimum: float | None,
    loads: tuple[LoadSummary | None, LoadSummary | None],
    labels: tuple[str, str],
    missing: str = "failed before measuring",
) -> Target:
    """req/s of `loads[0]` over `loads[1]`'s, round by round; errors fail it.

    `minimum` None: reported only (no threshold). `labels` name the two servers in the error
    note; `missing` says why there is no figure when either load is absent.
    """
    threshold = threshold_text(minimum)
    load, partner = loads
    if load is None or partner is None:
        return Target(name, missing, threshold, None)
    ratios = round_ratios(load, partner)
    ratio = statistics.median(ratios) if ratios else math.nan
    measured = ratio_text(ratios) or "n/a"
    # A server answering errors is not fast; a partner answering errors is no yardstick.
    if load.errors or partner.errors:
        measured += f" with errors ({labels[0]} {load.errors:,}, {labels[1]} {partner.errors:,})"
        if minimum is not None:
            return Target(name, measured, threshold, False)
    if minimum is None:
        return Target(name, measured, threshold, None, report_only=True)
    return Target(name, measured, threshold, ratio >= minimum)


def load_of(server: ServerResult | None, endpoint: str) -> LoadSummary | None:
    return server.loads.get(endpoint) if server is not None else None


FSFT_SKIPPED = "FSFT row skipped: PEER_FSFT not given"
# The baseline comparisons: each endpoint's threshold; None: reported only (Argon2 dominates
# these POSTs, and their few requests of one 5 s run are far noisier than the GETs).
BASELINE_ENDPOINTS: tuple[tuple[str, float | None], ...] = (
    (GET_USER, TARGET_OVER_BASELINE),
    (GET_ME, TARGET_OVER_BASELINE),
    (POST_TOKEN, None),
    (POST_USER, None),
)


def threshold_text(minimum: float | None) -> str:
    return f">= {minimum:g}" if minimum is not None else "report only"


def me_targets(settings: Settings, outcome: Outcome) -> list[Target]:
    """Issue 16: each mode's GET /users/me over FSFT's, the tutorial app's, the raw app's."""
    by_label = {server.label: server for server in outcome.servers}
    found: list[Target] = []
    for mode, raw_minimum in TARGET_ME_OVER_RAW.items():
        tutorial = f"{TUTORIAL}{mode}"
        partners = (
            (FSFT, f"GET {FSFT_API}/users/me", TARGET_ME_OVER_FSFT),
            (tutorial, "GET /users/me", TARGET_ME_OVER_TUTORIAL),
            (REFERENCE, "(raw, with auth) GET /users/me", raw_minimum),
        )
        for label, endpoint, minimum in partners:
            name = f"{mode} GET /users/me / {label} {endpoint} (req/s)"
            if mode not in settings.modes:
                found.append(Target(name, "no such mode in the template", f">= {minimum:g}", None))
            elif label == FSFT and settings.peer_fsft is None:
                found.append(Target(name, FSFT_SKIPPED, f">= {minimum:g}", None))
            else:
                loads = (load_of(by_label.get(mode), GET_ME), load_of(by_label.get(label), GET_ME))
                found.append(ratio_target(name, minimum, loads, (mode, label)))
    return found


def baseline_targets(settings: Settings, outcome: Outcome) -> list[Target]:
    """Each project over the baseline template's: no slower than it by more than 5 % (GETs)."""
    if settings.baseline is None:
        return [
            Target(
                "each project / the baseline template's (req/s)",
                "not run (needs --baseline-template)",
                f">= {TARGET_OVER_BASELINE:g} for the GETs",
                None,
            )
        ]
    by_label = {server.label: server for server in outcome.servers}
    found: list[Target] = []
    for mode in settings.modes:
        base = f"{mode}{BASELINE_SUFFIX}"
        for endpoint, minimum in BASELINE_ENDPOINTS:
            name = f"{mode} {endpoint} / {base} (req/s)"
            if mode not in settings.baseline_modes:
                found.append(
                    Target(name, "no such mode in the baseline", threshold_text(minimum), None)
                )
                continue
            loads = (load_of(by_label.get(mode), endpoint), load_of(by_label.get(base), endpoint))
            found.append(ratio_target(name, minimum, loads, (mode, base)))
    return found


def suite_threshold(limit_s: float) -> str:
    return f"<= {limit_s:g} s" if limit_s < 120 else f"<= {limit_s / 60:g} min"


def suite_run_target(name: str, run: SuiteRun, limit_s: float) -> Target:
    """A suite meets its time target only if it passed."""
    measured = f"{run.seconds:.1f} s" + ("" if run.passed else f" (FAILED: {run.summary})")
    return Target(name, measured, suite_threshold(limit_s), run.passed and run.seconds <= limit_s)


def suite_targets(suite: SuiteResult, limit_s: float) -> list[Target]:
    if suite.warm is None:
        return [suite_run_target(f"{suite.label} (one run, cold)", suite.cold, limit_s)]
    return [
        suite_run_target(f"baked suite {suite.label}, first run (cold)", suite.cold, limit_s),
        suite_run_target(f"baked suite {suite.label}, second run (warm)", suite.warm, limit_s),
    ]


def burst_targets(settings: Settings, mode: str, server: ServerResult | None) -> list[Target]:
    rss_name = f"{mode} worker peak RSS, {BURST_SIGNUPS} concurrent sign-ups"
    health_name = f"{mode} GET /health max latency during the sign-ups"
    rss_limit = f"< {TARGET_BURST_RSS_MIB:g} MiB"
    health_limit = f"< {TARGET_BURST_HEALTH_S:g} s"
    burst = server.burst if server is not None else None
    if burst is None:
        why = "skipped (--skip-burst)" if not settings.with_burst else "failed before measuring"
        return [
            Target(rss_name, why, rss_limit, None),
            Target(health_name, why, health_limit, None),
        ]
    # Sign-ups that fail (or answer nothing) make the worker's job lighter: no pass then.
    failed = f" ({len(burst.failures)} sign-ups failed)" if burst.failures else ""
    peak_mib = burst.rss_peak_kib / 1024
    worst = burst.health_latencies_s[-1] if burst.health_latencies_s else math.nan
    health_failed = f" ({burst.health_failures} polls failed)" if burst.health_failures else ""
    return [
        Target(
            rss_name,
            f"{peak_mib:.0f} MiB{failed}",
            rss_limit,
            not burst.failures and peak_mib < TARGET_BURST_RSS_MIB,
        ),
        Target(
            health_name,
            f"{worst:.3f} s (p95 {percentile(burst.health_latencies_s, 95):.3f} s)"
            f"{health_failed}{failed}",
            health_limit,
            burst.errors == 0 and worst < TARGET_BURST_HEALTH_S,
        ),
    ]


def statuses_text(counts: dict[str, int]) -> str:
    """`200: 190, TimeoutError: 1`: each answer and how often."""
    return ", ".join(f"{status}: {count:,}" for status, count in counts.items()) or "none"


def flood_targets(settings: Settings, mode: str, flood: FloodResult | None) -> list[Target]:
    """/health/ready answers 200 throughout; GET /users/me's p95 stays under the limit.

    A flood whose logins did not all fail as a wrong password does (throttled, refused, lost)
    did not keep the worker hashing: neither target is met then.
    """
    ready_name = f"{mode} GET /health/ready during a login flood ({FLOOD_CLIENTS} clients)"
    me_name = f"{mode} GET /users/me (bearer) p95 during the login flood"
    ready_limit = "all 200"
    me_limit = f"< {TARGET_FLOOD_ME_P95_S:g} s"
    if flood is None:
        why = "skipped (--skip-flood)" if not settings.with_flood else "failed before measuring"
        return [Target(ready_name, why, ready_limit, None), Target(me_name, why, me_limit, None)]
    logins = "" if flood.hashed_only else f" (logins answered {statuses_text(flood.logins)})"
    polls = sum(flood.ready.values())
    ready_ok = flood.ready.get("200", 0)
    latencies = flood.me_latencies_s
    p95 = percentile(latencies, 95)
    me_failed = sum(count for status, count in flood.me.items() if status != "200")
    return [
        Target(
            ready_name,
            f"{ready_ok:,} of {polls:,} answered 200{logins}",
            ready_limit,
            flood.hashed_only and polls > 0 and ready_ok == polls,
        ),
        Target(
            me_name,
            f"{p95:.3f} s (max {latencies[-1] if latencies else math.nan:.3f} s)"
            + (f" ({me_failed} not 200)" if me_failed else "")
            + logins,
            me_limit,
            flood.hashed_only and bool(latencies) and not me_failed and p95 < TARGET_FLOOD_ME_P95_S,
        ),
    ]


def targets(settings: Settings, outcome: Outcome) -> list[Target]:
    if settings.only == LOGIN_FLOOD:
        return [
            target
            for mode in settings.modes
            for target in flood_targets(settings, mode, outcome.floods.get(mode))
        ]
    by_label = {server.label: server for server in outcome.servers}
    found = me_targets(settings, outcome) + baseline_targets(settings, outcome)
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
    for mode in settings.modes:
        found += burst_targets(settings, mode, by_label.get(mode))
    for mode in settings.modes:
        found += flood_targets(settings, mode, outcome.floods.get(mode))
    if not settings.with_suites:
        found.append(Target("baked suites", "skipped (--skip-suites)", "", None))
    for suite in outcome.suites:
        sqlite = suite.label.endswith("sqlite")
        found += suite_targets(
            suite, TARGET_SUITE_SQLITE_S if sqlite else TARGET_SUITE_POSTGRESQL_S
        )
    if outcome.template_suite is None:
        found.append(
            Target(
                "template make test",
                "not run (needs --with-template-suite)",
                suite_threshold(TARGET_TEMPLATE_SUITE_S),
                None,
            )
        )
    else:
        found += suite_targets(outcome.template_suite, TARGET_TEMPLATE_SUITE_S)
    return found


# --------------------------------------------------------------------------------------------
# Tables


def throughput_rows(outcome: Outcome) -> list[list[str]]:
    reference = next((s for s in outcome.servers if s.label == REFERENCE), None)
    rows = []
    for server in outcome.servers:
        for name, load in server.loads.items():
            ratio = ""
            partner = REFERENCE_ENDPOINT.get(name)
            if server is reference:
                ratio = "1"
            elif reference is not None and partner in reference.loads:
                ratio = ratio_text(round_ratios(load, reference.loads[partner]))
                if partner != name:
                    ratio += f" vs {partner}"
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
                    f"**{load.errors:,}**" if load.errors else "0",
                    ratio,
                ]
            )
    return rows


def memory_rows(outcome: Outcome) -> list[list[str]]:
    """Every server's cold start and PG sessions; RSS for those the memory phase measured."""
    rows = []
    for server in outcome.servers:
        measured = bool(server.rss_second_kib)
        rss = [
            f"{server.rss_start_kib / 1024:.1f}",
            f"{server.rss_first_kib / 1024:.1f}",
            f"{server.rss_second_kib / 1024:.1f}",
            f"{server.memory_growth_pct:+.2f}",
        ]
        rows.append(
            [
                server.label,
                f"{server.cold_start_s:.2f}",
                *(rss if measured else ["", "", "", ""]),
                str(server.pg_sessions) if server.pg_sessions >= 0 else "",
            ]
        )
    return rows


def burst_rows(outcome: Outcome) -> list[list[str]]:
    rows = []
    for server in outcome.servers:
        burst = server.burst
        if burst is None:
            continue
        latencies = burst.health_latencies_s
        failures = ", ".join(sorted(set(burst.failures))) if burst.failures else ""
        rows.append(
            [
                server.label,
                f"{burst.created}/{burst.signups}" + (f" (other: {failures})" if failures else ""),
                f"{burst.seconds:.1f}",
                f"{burst.rss_before_kib / 1024:.0f}",
                f"{burst.rss_hwm_kib / 1024:.0f}" if burst.rss_hwm_kib is not None else "n/a",
                f"{burst.rss_polled_kib / 1024:.0f}",
                str(len(latencies)),
                f"{percentile(latencies, 50) * 1000:.1f}",
                f"{percentile(latencies, 95) * 1000:.1f}",
                f"{latencies[-1] * 1000:.1f}" if latencies else "n/a",
                str(burst.health_failures),
            ]
        )
    return rows


def flood_rows(outcome: Outcome) -> list[list[str]]:
    rows = []
    for mode, flood in outcome.floods.items():
        latencies = flood.me_latencies_s
        rows.append(
            [
                mode,
                f"{flood.answered:,}",
                f"{flood.answered / flood.elapsed_s:.1f}" if flood.elapsed_s > 0 else "n/a",
                statuses_text(flood.logins),
                statuses_text(flood.ready),
                statuses_text(flood.me),
                f"{percentile(latencies, 50) * 1000:.0f}",
                f"{percentile(latencies, 95) * 1000:.0f}",
                f"{latencies[-1] * 1000:.0f}" if latencies else "n/a",
                f"{flood.rss_hwm_kib / 1024:.0f}" if flood.rss_hwm_kib is not None else "n/a",
            ]
        )
    return rows


def not_run(rows: Sequence[object]) -> str:
    """ "Not run." for a table without rows; "" (so that `or table(...)` follows) otherwise."""
    return "" if rows else "Not run."


def test_counts(run: SuiteRun) -> str:
    """passed / failed / skipped, and errors when there are any; empty without a summary."""
    if not run.counts:
        return ""
    kinds = ["passed", "failed", "skipped"] + [
        kind for kind in ("error", "xfailed", "xpassed") if run.counts.get(kind)
    ]
    return ", ".join(f"{run.counts.get(kind, 0)} {kind}" for kind in kinds)


def suite_rows(suites: Sequence[SuiteResult]) -> list[list[str]]:
    rows = []
    for suite in suites:
        last = suite.warm or suite.cold
        exits = " / ".join(str(run.returncode) for run in suite.runs)
        rows.append(
            [
                suite.label,
                f"{suite.cold.seconds:.1f}",
                f"{suite.warm.seconds:.1f}" if suite.warm else "",
                exits,
                test_counts(last),
                last.summary,
            ]
        )
    return rows


# --------------------------------------------------------------------------------------------
# The machine


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
    template = outcome.template_before or "not a git checkout"
    if outcome.template_after != outcome.template_before:
        template += f" at the start, {outcome.template_after or '?'} at the end"
    rows = [
        ["Date", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")],
        ["Template", f"{settings.template.resolve()} at {template}"],
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
    if settings.only is None:
        rows += [
            ["FSFT", outcome.fsft or ("not set up" if settings.peer_fsft else FSFT_SKIPPED)],
            ["Baseline", outcome.baseline or "none (no --baseline-template)"],
        ]
    return rows


def noisy(outcome: Outcome) -> bool:
    for server in outcome.servers:
        for load in server.loads.values():
            rates = [run.rps for run in load.runs]
            if len(rates) > 1 and min(rates) < 0.8 * max(rates):
                return True
    return False


def errors_seen(outcome: Outcome) -> list[str]:
    """`server endpoint: N` for every load that met error responses or socket errors."""
    found = [
        f"{server.label} {name}: {load.errors:,}"
        for server in outcome.servers
        for name, load in server.loads.items()
        if load.errors
    ]
    found += [
        f"{server.label} sign-up burst: {server.burst.errors}"
        for server in outcome.servers
        if server.burst is not None and server.burst.errors
    ]
    for mode, flood in outcome.floods.items():
        unexpected = [
            f"{part} {statuses_text(counts)}"
            for part, counts, expected in (
                ("logins", flood.logins, FLOOD_LOGIN_ANSWER),
                ("/health/ready", flood.ready, "200"),
                ("/users/me", flood.me, "200"),
            )
            if set(counts) - {expected}
        ]
        if unexpected:
            found.append(f"{mode} login flood: {', '.join(unexpected)}")
    return found


# --------------------------------------------------------------------------------------------
# The document


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
            "ratios pair runs of the same round, so they suffer less than the absolutes.",
            "",
        ]
    errors = errors_seen(outcome)
    if errors:
        parts += [
            f"**Errors:** {'; '.join(errors)}. req/s counts successful responses only, a "
            "server that answered errors does not meet its ratio target, and a login flood "
            "with unexpected answers does not meet its targets.",
            "",
        ]
    if settings.generator == "python" and settings.only is None:
        parts += [
            "**Load generator: the Python fallback** (wrk was not installed). It needs about as "
            "much CPU per request as a fast server, so it saturates first: requests/s of the "
            "reference (and of /health) are the generator's limit, and the ratios to the "
            "reference read higher than wrk would measure them. Install wrk for real numbers.",
            "",
        ]
    mode_note = "" if settings.mode_is_choice else " (cookiecutter.json has no `sqlalchemy_mode`)"
    flood = (
        f"login flood: {FLOOD_CLIENTS} clients, {settings.flood_seconds:g} s"
        if settings.with_flood
        else "no login flood (--skip-flood)"
    )
    if settings.only is not None:
        scope = (
            f"**Only the {settings.only} part** (`--only {settings.only}`): no reference, no "
            f"GET or POST loads, no sign-up burst, no suites; {flood}."
        )
    else:
        scope = (
            f"GET runs: {settings.rounds} round(s) of {settings.duration_s:g} s per server and "
            f"endpoint, {settings.connections} connections; POST: "
            f"{settings.post_duration_s:g} s, {settings.post_connections} connections; {flood}."
        )
    parts += [
        "## Machine",
        "",
        table(["", ""], machine_info(settings, outcome)),
        "",
        f"Modes: {', '.join(settings.modes)}{mode_note}. {settings.rows:,} users in every "
        f"database. {scope} Bench wall time: {total_s:.0f} s.",
        "",
        "## Targets",
        "",
        "Every ratio pairs runs of the same round. GET /users/me, every server with a "
        f"bearer token: each mode's project over {FSFT} (full-stack-fastapi-template), over "
        "the tutorial-style app of its mode (FastAPI's docs: OAuth2PasswordBearer, jwt.decode, "
        "session.get, response_model) and over the raw app (Starlette, psycopg's pool, PyJWT: "
        "the same query and JSON); and each project over the same mode baked from the baseline "
        "template (`<mode>@base`)."
        if settings.only is None
        else f"Only the {settings.only} part's targets.",
        "",
        table(
            ["Target", "Measured", "Threshold", "Status"],
            [[t.name, t.measured, t.threshold, t.status] for t in found],
        ),
        "",
        "## Throughput and latency",
        "",
        "req/s: successful (2xx) responses per second; with p50 and p99, medians over the "
        "rounds; range: the slowest and the fastest round. The projects' GETs carry a "
        "superuser's bearer token (one login per server); `GET /users/{id} (bearer)` looks up "
        "random users (the token's owner checked, then the user read), the reference's "
        "`GET /users/{id}` the same ids without authentication. `GET /users/me (bearer)`: the "
        f"token's owner; the reference and the {TUTORIAL}<mode> apps decode the token a login "
        f"to the first project gave, {FSFT} its own login's (its path is "
        f"{FSFT_API}/users/me). Ratio: req/s over the reference's, round by round (in a round "
        "the servers run one after another), median (lowest-highest); the authenticated lookup "
        "is compared with the reference's plain one. POSTs: one run per project, each next to "
        "its baseline's. Errors: non-2xx responses and socket errors.",
        "",
        *(
            [f"**{FSFT_SKIPPED}.**", ""]
            if settings.peer_fsft is None and settings.only is None
            else []
        ),
        not_run(outcome.servers)
        or table(
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
        f"{2 * settings.memory_requests:,} GET /users/{{id}} requests (the projects' with the "
        "bearer token); growth between the two. The reference and the projects only: the "
        f"others are warmed up instead, with {WARMUP_REQUESTS:,} requests of each GET they are "
        "loaded with. PG sessions: connections the server opened to "
        "its database over the whole run (pg_stat_database.sessions); more than its pool size "
        "means connections are being closed and reopened under load.",
        "",
        not_run(outcome.servers)
        or table(
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
        "## Sign-up burst",
        "",
    ]
    bursts = burst_rows(outcome)
    if bursts:
        parts += [
            f"{BURST_SIGNUPS} POST /users with new emails, sent at once on {BURST_SIGNUPS} "
            "connections to the one worker, after its GET loads and before its POST load, at "
            "the project's default Argon2id cost and PASSWORD_HASH_CONCURRENCY (one per CPU the "
            f"worker may use: {len(os.sched_getaffinity(0))} here). Peak RSS (the target): the "
            "larger of VmHWM (the kernel's peak, reset through /proc/<pid>/clear_refs before the "
            f"burst) and the largest VmRSS read every {BURST_SAMPLE_S * 1000:.0f} ms. GET /health "
            f"polled on a new connection {BURST_SAMPLE_S * 1000:.0f} ms after each answer, as a "
            "liveness probe would: the polls that overlapped the burst.",
            "",
            table(
                [
                    "Server",
                    "Created",
                    "Burst s",
                    "RSS before MiB",
                    "VmHWM MiB",
                    "VmRSS max MiB",
                    "/health polls",
                    "p50 ms",
                    "p95 ms",
                    "max ms",
                    "Failed polls",
                ],
                bursts,
            ),
        ]
    else:
        parts.append("Not run.")
    parts += ["", "## Login flood", ""]
    floods = flood_rows(outcome)
    if floods:
        parts += [
            f"{FLOOD_CLIENTS} clients post `POST /auth/token` (the password form) for "
            f"{settings.flood_seconds:g} s, each login with a new unknown email, one after "
            f"another on new connections (each waiting up to {FLOOD_LOGIN_TIMEOUT_S:g} s for its "
            "answer), to a server of its own started for the flood (after "
            "every other server stopped; same database, one worker, the project's default "
            "Argon2id cost and PASSWORD_HASH_CONCURRENCY). It runs with "
            f"LOGIN_MAX_FAILURES_PER_ADDRESS={FLOOD_ADDRESS_LIMIT:,}: every login comes from "
            "127.0.0.1, and at the default 100 failures per address the throttle would refuse "
            "the rest (429) before hashing. Raised, the flood **measures the hashing path**: "
            "each unknown email is verified against a dummy hash, then the failure written, "
            f"and every login must answer `{FLOOD_LOGIN_ANSWER}` (RFC 6749's invalid_grant). A "
            "regular user logged in first; from the moment the clients are released until they "
            f"stop, GET /health/ready and that user's GET /users/me (bearer) are each asked on "
            f"a new connection {FLOOD_PROBE_S * 1000:.0f} ms after each answer. Logins/s: "
            "answers over the time from the release to the last answer. Peak RSS: the "
            "worker's VmHWM, reset before the flood. Latencies by nearest rank.",
            "",
            table(
                [
                    "Mode",
                    "Logins answered",
                    "Logins/s",
                    "Login answers",
                    "/health/ready",
                    "/users/me",
                    "me p50 ms",
                    "me p95 ms",
                    "me max ms",
                    "Peak RSS MiB",
                ],
                floods,
            ),
        ]
    else:
        parts.append("Not run.")
    parts += [
        "",
        "## Test suites",
        "",
        "Cold: the first run after baking, without bytecode; warm: the second, bytecode cached "
        "as on a developer's machine. Both are held to the target. Wall time of the whole "
        "command (interpreter start, plugins, collection). The template's `make test` runs "
        "once; it bakes every project afresh, so that run is cold. Tests: from pytest's "
        "summary (of the warm run where there is one).",
        "",
    ]
    suites = [*outcome.suites, *([outcome.template_suite] if outcome.template_suite else [])]
    if suites:
        parts.append(
            table(
                ["Suite", "Cold s", "Warm s", "Exit", "Tests", "pytest"],
                suite_rows(suites),
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
