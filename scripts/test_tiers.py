"""`make test`'s test runs: each tier is one pytest run over the folders it concerns, on both
cores (pytest-xdist, one database per worker), and the whole ends with each tier's duration.

Every test carries its folder's marker (tests/conftest.py) and, where it runs elsewhere too,
`dialects` or `services`; the tiers below select on them, so each test runs where it earns its
time (`pyproject.toml` says what each marker means):

- pure code once;
- the API suite on SQLite with the simulator (the embedded default), and on PostgreSQL through
  the OpenStack provider against `stackgate fakecloud` (production: PostgreSQL and a cloud);
- integration tests and the API tests of database-specific behaviour on all three databases;
- end-to-end processes once; the services (RabbitMQ, Redis) once, on PostgreSQL.

Usage: python scripts/test_tiers.py [TIER ...]   (no name: every tier; `--list` names them)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Two cores; many tests wait on the database, a subprocess or a simulated build rather than
# on the CPU, so a third worker keeps both cores busy.
WORKERS = os.environ.get("STACKGATE_TEST_WORKERS", "3")


@dataclass(frozen=True)
class Tier:
    name: str
    what: str
    paths: tuple[str, ...]
    marks: str
    env: dict[str, str] = field(default_factory=dict)
    parallel: bool = True


TIERS = (
    Tier(
        "sqlite",
        "pure code; the API suite, integration and end-to-end tests on SQLite",
        ("tests/unit", "tests/api", "tests/integration", "tests/e2e", "tests/cli"),
        "not services and not openstack",
        {"STACKGATE_TEST_DATABASE": "sqlite"},
    ),
    Tier(
        "postgresql",
        "the API suite through the OpenStack provider and stackgate fakecloud, and integration"
        " tests, on PostgreSQL",
        ("tests/integration", "tests/api"),
        "(integration or api) and not services",
        {"STACKGATE_TEST_DATABASE": "postgresql", "STACKGATE_TEST_PROVIDER": "openstack"},
    ),
    Tier(
        "mariadb",
        "integration tests and the database-specific API tests on MariaDB",
        ("tests/integration", "tests/api"),
        "(integration or dialects) and not services",
        {"STACKGATE_TEST_DATABASE": "mariadb"},
    ),
    Tier(
        "services",
        "gateway, billing and messaging on PostgreSQL, RabbitMQ and Redis",
        ("tests/integration", "tests/e2e"),
        "services and not broker_restart",
        {"STACKGATE_TEST_DATABASE": "postgresql"},
    ),
    Tier(
        "broker-restart",
        "the tests that stop and start the local RabbitMQ, one at a time",
        ("tests/integration", "tests/e2e"),
        "broker_restart",
        {"STACKGATE_TEST_DATABASE": "postgresql"},
        parallel=False,
    ),
    Tier(
        "openstack",
        "the OpenStack provider, openstacksdk and the openstack CLI against stackgate fakecloud",
        ("tests/openstack", "tests/e2e"),
        "openstack",
    ),
)


@dataclass
class Outcome:
    tier: Tier
    seconds: float
    code: int
    counts: dict[str, int]


def counts_of(report: Path) -> dict[str, int]:
    """passed/failed/errors/skipped from pytest's JUnit XML report."""
    if not report.exists():
        return {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    suite = ET.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    tests, failed, errors, skipped = (
        int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")
    )
    return {
        "passed": tests - failed - errors - skipped,
        "failed": failed,
        "errors": errors,
        "skipped": skipped,
    }


def run(tier: Tier, workdir: Path) -> Outcome:
    report = workdir / f"{tier.name}.xml"
    command = [sys.executable, "-m", "pytest", *tier.paths, "-m", tier.marks, "-q"]
    command += [f"--junitxml={report}", "--durations=10", "-p", "no:cacheprovider"]
    # SQLite files and logs of the run in memory: a test's fsync is not what it tests.
    command += [f"--basetemp={workdir / tier.name}"]
    if tier.parallel:
        command += ["-n", WORKERS]
    print(f"\n== {tier.name}: {tier.what} ==", flush=True)
    started = time.monotonic()
    # Exit 5 (no test selected) fails too: a tier that finds no test has lost its tests.
    code = subprocess.call(command, cwd=ROOT, env={**os.environ, **tier.env})
    return Outcome(tier, time.monotonic() - started, code, counts_of(report))


def summary(outcomes: list[Outcome], total: float) -> str:
    lines = ["", "== durations per tier =="]
    for o in outcomes:
        c = o.counts
        state = "ok" if o.code == 0 else f"FAILED (exit {o.code})"
        lines.append(
            f"{o.tier.name:<22} {o.seconds / 60:5.1f} min  {c['passed']:5d} passed  "
            f"{c['failed'] + c['errors']:3d} failed  {c['skipped']:3d} skipped  {state}"
        )
    lines.append(f"{'all tiers':<22} {total / 60:5.1f} min")
    passed = sum(o.counts["passed"] for o in outcomes)
    failed = sum(o.counts["failed"] + o.counts["errors"] for o in outcomes)
    # A run that failed before reporting any test (a collection error, no test selected).
    failed += sum(
        1 for o in outcomes if o.code != 0 and not o.counts["failed"] + o.counts["errors"]
    )
    skipped = sum(o.counts["skipped"] for o in outcomes)
    lines.append(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return "\n".join(lines)


def main(names: list[str]) -> int:
    if names == ["--list"]:
        for tier in TIERS:
            print(f"{tier.name:<22} {tier.what}")
        return 0
    unknown = set(names) - {tier.name for tier in TIERS}
    if unknown:
        print(f"unknown tier(s): {', '.join(sorted(unknown))}; see --list", file=sys.stderr)
        return 2
    folders = {
        path.relative_to(ROOT / "tests").parts[0] for path in ROOT.glob("tests/*/**/test_*.py")
    }
    unrun = folders - {Path(path).name for tier in TIERS for path in tier.paths}
    if unrun:
        print(
            f"no tier runs tests/{', tests/'.join(sorted(unrun))}: add it to TIERS", file=sys.stderr
        )
        return 2
    chosen = [tier for tier in TIERS if not names or tier.name in names]
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(
        prefix="stackgate-tests-", dir=shm if shm.is_dir() else None
    ) as tmp:
        started = time.monotonic()
        outcomes = [run(tier, Path(tmp)) for tier in chosen]
        print(summary(outcomes, time.monotonic() - started), flush=True)
    return 0 if all(o.code == 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
