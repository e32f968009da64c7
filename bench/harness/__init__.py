"""The benchmark's parts, one job per module; `bench/run.py` is the entry point.

config      paths, constants, targets, time bounds, the run's settings, `log` and `BenchError`
results     what a run measured (dataclasses only)
servers     commands and servers: start, wait for /health, stop, find the serving process
databases   PostgreSQL databases and the users every one of them holds
projects    baking the template, the servers' environment, migrations, logging in
peers       what the projects are compared with: the raw app, the tutorial apps, FSFT
load        wrk and the Python load generator
memory      the serving process's RSS: after N requests, and during a burst of sign-ups
flood       the login flood: unknown-email logins from many clients, the app probed meanwhile
suites      the baked projects' test suites and the template's `make test`
benchmark   the whole run, step by step
report      the targets and RESULTS.md
"""
