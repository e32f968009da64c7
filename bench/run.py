"""Benchmark the baked projects against their peers; write bench/RESULTS.md.

Run from the template's root with its virtualenv (`make bench` does this):

    PEER_FSFT=/path/to/full-stack-fastapi-template .venv/bin/python bench/run.py \
        [--baseline-template /path/to/another/checkout] [--with-template-suite] [--rounds 3] ...

Bakes one PostgreSQL project per `sqlalchemy_mode` of cookiecutter.json (or a single "sync"
project when the template has no such choice), gives each a fresh database with the same rows,
serves each with uvicorn (one worker) next to its peers: the raw app `bench/reference_app.py`,
the tutorial-style apps `bench/tutorial_app_<mode>.py`, full-stack-fastapi-template's backend
when PEER_FSFT (or --peer-fsft) names a checkout of it, and the projects of the baseline
template (--baseline-template). It drives them over HTTP on 127.0.0.1 with wrk (or, without
wrk, a Python load generator), in rounds; the requests carry a bearer token. Then a burst of
concurrent sign-ups on each project's worker, its POSTs (sign-ups, logins), a flood of
unknown-email logins on each (`--only login-flood` runs that alone), the baked projects' own
test suites (PostgreSQL and SQLite, cold and warm), and optionally the template's `make test`.
Every server, database and temporary directory it creates is removed on exit, error or not.
The parts are in `bench/harness/`, one job per module.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from harness.benchmark import run_benchmark
from harness.config import (
    BENCH_DIR,
    FLOOD_CLIENTS,
    FLOOD_SECONDS,
    LOGIN_FLOOD,
    RAW_DIR,
    ROOT,
    STARTED,
    BenchError,
    Settings,
    log,
)
from harness.peers import fsft_backend
from harness.projects import template_modes, template_revision
from harness.report import load_average, report
from harness.results import Outcome


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        description="Benchmark the baked projects against their peers.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per GET run")
    parser.add_argument("--rounds", type=int, default=3, help="GET runs per server and endpoint")
    parser.add_argument("--connections", type=int, default=16, help="for the GET runs")
    parser.add_argument("--post-duration", type=float, default=5.0, help="seconds of POST /users")
    parser.add_argument(
        "--post-connections",
        type=int,
        default=4,
        help="for POST /users: Argon2 saturates the CPU with a few; more only queue",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rows", type=int, default=1000, help="users in every database")
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=10_000,
        help="RSS is read after this many GET /users/{id} and after twice as many",
    )
    parser.add_argument(
        "--load-generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="auto: wrk when installed, else the Python generator",
    )
    parser.add_argument("--skip-burst", action="store_true", help="no burst of concurrent sign-ups")
    parser.add_argument(
        "--flood-seconds",
        type=float,
        default=FLOOD_SECONDS,
        help=f"how long the {FLOOD_CLIENTS} clients of the login flood keep sending",
    )
    parser.add_argument("--skip-flood", action="store_true", help="no login flood")
    parser.add_argument(
        "--only",
        choices=[LOGIN_FLOOD],
        help="run that part alone (bake, databases, then it); the report goes to "
        "bench/results/RESULTS-<part>.md unless --results says otherwise",
    )
    parser.add_argument("--skip-suites", action="store_true", help="do not time the baked suites")
    parser.add_argument(
        "--with-template-suite", action="store_true", help="also time the template's `make test`"
    )
    parser.add_argument(
        "--results", type=Path, help="where the report goes (default: bench/RESULTS.md)"
    )
    parser.add_argument(
        "--template", type=Path, default=ROOT, help="the Cookiecutter template to bake"
    )
    parser.add_argument(
        "--peer-fsft",
        type=Path,
        default=os.environ.get("PEER_FSFT") or None,
        help="a checkout of full-stack-fastapi-template (or its backend/): its GET "
        "/api/v1/users/me is loaded next to the others (default: $PEER_FSFT; without it, "
        "the FSFT row is skipped)",
    )
    parser.add_argument(
        "--baseline-template",
        type=Path,
        help="another checkout of this template (such as `git worktree add /tmp/base <commit>`): "
        "its projects are served as <mode>@base in the same rounds, and each project's req/s "
        "is compared with its own",
    )
    args = parser.parse_args(argv)

    generator: str = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    elif generator == "wrk" and not shutil.which("wrk"):
        parser.error("--load-generator wrk: wrk is not installed")
    for name in ("duration", "rounds", "connections", "post_connections", "threads", "rows"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.memory_requests <= 0:
        parser.error("--memory-requests must be positive")
    if args.flood_seconds <= 0:
        parser.error("--flood-seconds must be positive")
    only: str | None = args.only
    if only is not None and (args.skip_flood or args.with_template_suite):
        parser.error(f"--only {only} runs that part alone: no --skip-flood, --with-template-suite")
    # A partial run never overwrites the full run's report.
    results: Path = args.results or (
        BENCH_DIR / "RESULTS.md" if only is None else RAW_DIR.parent / f"RESULTS-{only}.md"
    )
    peer_fsft: Path | None = None if only is not None else args.peer_fsft
    if peer_fsft is not None:
        try:
            fsft_backend(peer_fsft)
        except BenchError as error:
            parser.error(str(error))
    baseline: Path | None = args.baseline_template
    baseline_modes: list[str] = []
    baseline_mode_is_choice = False
    if baseline is not None:
        if only is not None:
            parser.error(f"--only {only} runs that part alone: no --baseline-template")
        if not (baseline / "cookiecutter.json").is_file():
            parser.error(f"--baseline-template: no cookiecutter.json in {baseline}")
        baseline_modes, baseline_mode_is_choice = template_modes(baseline)
    modes, mode_is_choice = template_modes(args.template)
    return Settings(
        template=args.template,
        modes=modes,
        mode_is_choice=mode_is_choice,
        rows=args.rows,
        duration_s=args.duration,
        rounds=args.rounds,
        post_duration_s=args.post_duration,
        connections=args.connections,
        post_connections=args.post_connections,
        threads=args.threads,
        memory_requests=args.memory_requests,
        generator=generator,
        with_burst=not args.skip_burst and only is None,
        with_flood=not args.skip_flood,
        flood_seconds=args.flood_seconds,
        only=only,
        with_suites=not args.skip_suites and only is None,
        with_template_suite=args.with_template_suite,
        results_path=results,
        peer_fsft=peer_fsft,
        baseline=baseline,
        baseline_modes=baseline_modes,
        baseline_mode_is_choice=baseline_mode_is_choice,
    )


def _terminate(signum: int, _frame: object) -> NoReturn:
    # SystemExit unwinds the ExitStack: servers stopped, databases dropped, temp dir removed.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    shutil.rmtree(RAW_DIR, ignore_errors=True)
    RAW_DIR.mkdir(parents=True)
    outcome = Outcome(
        load_before=load_average(), template_before=template_revision(settings.template)
    )
    error: str | None = None
    try:
        with contextlib.ExitStack() as stack:
            run_benchmark(settings, stack, outcome)
    except BenchError as failure:
        error = str(failure)
    except Exception as failure:
        traceback.print_exc()
        error = f"{failure.__class__.__name__}: {failure}"
    outcome.load_after = load_average()
    outcome.template_after = template_revision(settings.template)
    total_s = time.perf_counter() - STARTED
    text = report(settings, outcome, total_s, error)
    settings.results_path.write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {settings.results_path} ({total_s:.0f} s)")
    if error:
        log(f"FAILED: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
