"""StackGate's benchmarks (bench/README.md).

Entry points, run as files (`.venv/bin/python bench/run.py`) or as modules (`python -m
bench.run`): run.py (StackGate against bare baselines), gateway.py (gateway overhead),
billing.py (billing throughput). The modules they share:

- figures    what bench/run.py measures (Spec, SPECS, TARGETS)
- processes  the processes under test: start, pin to a core, wait for /health, stop
- client     plain HTTP to them (http_get, http_send)
- data       the database: create, migrate, load the server rows, drop
- identity   who the StackGate figures act as (login, bearer token, quotas lifted)
- load       driving a server with wrk or loadgen.py
- measure    one figure: start, check, warm up, drive, count CPU (and py-spy)
- report     medians, ratios, the table, the environment

baselines.py (the bare apps, served by uvicorn) and loadgen.py (the load generator without
wrk) run in processes of their own and import nothing from here.
"""

from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
