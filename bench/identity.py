"""Who the StackGate figures act as. StackGate seeds its identity on its first start; with it
in place, every request carries the demo user's bearer token, the demo project's quotas are
lifted, and the POST figures get a network of their own."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.client import http_get, http_send
from bench.data import Database, db_execute
from bench.figures import BENCH_CIDR, BENCH_NETWORK, POST_BODY
from bench.processes import Server, stackgate_bin, stackgate_env, start_healthy


def login(port: int, db: Database, user: str = "demo", project: str = "demo") -> dict[str, Any]:
    """A bearer token (POST /api/v1/auth/tokens); {} when StackGate has no such route."""
    body = json.dumps({"username": user, "password": db.password, "project": project})
    status, answer = http_send("POST", f"http://127.0.0.1:{port}/api/v1/auth/tokens", body)
    if status in (404, 405):
        return {}
    if status not in (200, 201):
        raise RuntimeError(f"login as {user} answered {status}: {answer[:300]!r}")
    token: dict[str, Any] = json.loads(answer)
    return token


def auth_headers(port: int, db: Database) -> dict[str, str]:
    if not db.auth:
        return {}
    return {"Authorization": f"Bearer {login(port, db)['access_token']}"}


def make_bench_network(port: int, headers: dict[str, str]) -> None:
    """The network the POST figures create their servers on (NET_POST_BODY)."""
    base = f"http://127.0.0.1:{port}/api/v1"
    status, answer = http_send(
        "POST", f"{base}/networks", json.dumps({"name": BENCH_NETWORK}), headers=headers
    )
    if status not in (200, 202):
        raise RuntimeError(f"POST /api/v1/networks answered {status}: {answer[:300]!r}")
    subnet = {"network_id": json.loads(answer)["id"], "cidr": BENCH_CIDR}
    status, answer = http_send("POST", f"{base}/subnets", json.dumps(subnet), headers=headers)
    if status not in (200, 202):
        raise RuntimeError(f"POST /api/v1/subnets answered {status}: {answer[:300]!r}")


def prepare_identity(
    db: Database, args: argparse.Namespace, workdir: Path, keep_simulator: bool = False
) -> None:
    """Start StackGate once: it seeds its identity on the first start. With identity in place,
    the figures act as the demo user in the demo project, whose quotas are lifted (a table of
    100,000 servers is far over Nova's default of 10 instances). With `keep_simulator` the
    simulated cloud keeps what that start made in it (the project's default security group,
    the bench network), so servers created later can be built: bench/events.py."""
    command = [str(stackgate_bin()), "serve", "--no-migrate"]
    log = workdir / f"{db.kind}-first-start.log"
    server, port = start_healthy(
        lambda port: Server(
            "stackgate serve (first start)",
            command,
            stackgate_env(db, args, workdir, port),
            workdir,
            args.server_cpu,
            log,
        ),
        args.start_retries,
        args.retry_wait,
    )
    try:
        token = login(port, db)
        headers = {"Authorization": f"Bearer {token['access_token']}"} if token else {}
        db.auth = bool(token)
        if token:
            db.user_id = token["user"]["id"]
        # Which project does the API put this caller's servers in? Ask it: create one.
        status, answer = http_send(
            "POST",
            f"http://127.0.0.1:{port}/api/v1/vms",
            POST_BODY.replace("%%d", "") % "bench-probe",
            headers=headers,
        )
        if status not in (200, 202):
            raise RuntimeError(f"POST /api/v1/vms answered {status}: {answer[:300]!r}")
        db.project_id = json.loads(answer)["project_id"]
        lifted = "no identity"
        if token:
            admin = login(port, db, "admin", "admin")
            admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
            url = f"http://127.0.0.1:{port}/api/v1/projects/{db.project_id}/quotas"
            status, answer = http_get(url, headers=admin_headers)
            names = list(json.loads(answer).get("quotas", {})) if status == 200 else []
            body = json.dumps({"quotas": dict.fromkeys(names or ["instances", "cores", "ram"], -1)})
            status, answer = http_send("PUT", url, body, headers=admin_headers)
            lifted = "yes" if status == 200 else f"NO ({status})"
            if status != 200:
                print(f"  !! could not lift the project's quotas ({status}): {answer[:300]!r}")
            make_bench_network(port, headers)
        print(
            f"  identity: {'the demo user, bearer token' if token else 'no /api/v1/auth/tokens'};"
            f" servers go to project {db.project_id}; quotas lifted: {lifted}"
        )
    finally:
        server.stop()
    db_execute(db, "DELETE FROM operation")
    db_execute(db, "DELETE FROM server WHERE name LIKE 'bench-probe%'")
    if keep_simulator:
        return
    for path in workdir.glob(f"simulator-{db.kind}.db*"):
        path.unlink()
