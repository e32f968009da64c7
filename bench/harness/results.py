"""What a run measured: plain records, filled in by the measuring modules, read by the report."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from .config import FLOOD_LOGIN_ANSWER


@dataclass
class LoadResult:
    """One load run. `rps` counts successful (2xx) responses only."""

    generator: str
    requests: int  # responses received, successful or not
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx responses and socket errors (timeouts, resets)


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
class BurstResult:
    """Concurrent sign-ups on one worker: its peak RSS, and /health polled meanwhile."""

    signups: int
    created: int  # 201 responses
    failures: list[str]  # anything else: status or exception, one entry per sign-up
    seconds: float  # first request sent to last response
    rss_before_kib: int
    rss_polled_kib: int  # the largest VmRSS read during the burst
    rss_hwm_kib: int | None  # VmHWM after the burst, reset before it; None: could not reset
    health_latencies_s: list[float]  # sorted
    health_failures: int

    @property
    def rss_peak_kib(self) -> int:
        return max(self.rss_polled_kib, self.rss_hwm_kib or 0)

    @property
    def errors(self) -> int:
        return len(self.failures) + self.health_failures


@dataclass
class FloodResult:
    """Unknown-email logins from many clients on one worker; /health/ready and /users/me probed.

    Answers are counted by their text: a status ("200"; for the logins, with the error's
    `code`: "400 invalid_credentials"), or the name of an exception.
    """

    clients: int
    seconds: float  # how long the clients kept sending
    elapsed_s: float  # first login sent to the last answer
    logins: dict[str, int]  # the logins' answers, with their `code`
    ready: dict[str, int]  # GET /health/ready's answers while the clients sent
    me: dict[str, int]  # GET /users/me's answers meanwhile
    me_latencies_s: list[float]  # sorted, every GET /users/me whatever its answer
    rss_before_kib: int
    rss_hwm_kib: int | None  # VmHWM after the flood, reset before it; None: could not reset

    @property
    def answered(self) -> int:
        """Logins that got an HTTP answer."""
        return sum(count for answer, count in self.logins.items() if answer[:3].isdigit())

    @property
    def hashed_only(self) -> bool:
        """Every login failed as a wrong password does: each one hashed, none throttled."""
        return bool(self.logins) and set(self.logins) == {FLOOD_LOGIN_ANSWER}


@dataclass
class ServerResult:
    label: str
    cold_start_s: float
    rss_start_kib: int = 0
    rss_first_kib: int = 0
    rss_second_kib: int = 0
    pg_sessions: int = -1  # PostgreSQL sessions the server opened while serving
    loads: dict[str, LoadSummary] = field(default_factory=dict)
    burst: BurstResult | None = None

    @property
    def memory_growth_pct(self) -> float:
        if not self.rss_first_kib:
            return math.nan
        return (self.rss_second_kib - self.rss_first_kib) / self.rss_first_kib * 100

    def add(self, name: str, run: LoadResult) -> None:
        self.loads.setdefault(name, LoadSummary([])).runs.append(run)


@dataclass
class SuiteRun:
    """One run of a test suite: its wall time, exit status and pytest's summary line."""

    seconds: float
    returncode: int
    summary: str  # pytest's last summary ("181 passed, 2 skipped in 140.2s"), or what went wrong
    counts: dict[str, int] = field(default_factory=dict)  # "passed": 181, "skipped": 2, ...

    @property
    def passed(self) -> bool:
        return self.returncode == 0


@dataclass
class SuiteResult:
    """A suite run cold (first run after baking, no bytecode) and, for baked suites, warm."""

    label: str
    cold: SuiteRun
    warm: SuiteRun | None = None  # None: run once (the template suite), or never (bake failed)

    @property
    def runs(self) -> list[SuiteRun]:
        return [self.cold] if self.warm is None else [self.cold, self.warm]


@dataclass
class Outcome:
    servers: list[ServerResult] = field(default_factory=list)
    suites: list[SuiteResult] = field(default_factory=list)
    template_suite: SuiteResult | None = None
    floods: dict[str, FloodResult] = field(default_factory=dict)  # by mode
    load_before: str = ""
    load_after: str = ""
    template_before: str = ""  # the template's commit at the start (see template_revision)
    template_after: str = ""
    fsft: str = ""  # the FSFT peer: its checkout, commit and packages; "" when not given
    baseline: str = ""  # the baseline template and its commit; "" without --baseline-template
