"""What bench/run.py measures: the figures, their baselines and performance.md's targets."""

from __future__ import annotations

from dataclasses import dataclass

TARGETS = {
    # figure: (baseline, minimum ratio of requests/s, what performance.md says)
    "get": ("C", 1.0, ">= 1.0x C"),
    "list": ("E", 1.0, ">= 1.0x E"),
    "post": ("F", 0.8, ">= 0.8x F"),
}


@dataclass(frozen=True)
class Spec:
    key: str
    label: str
    app: str  # starlette | fastapi | serve | api
    mode: str  # static | ids | post
    path: str
    body: str = ""
    vs: tuple[str, ...] = ()  # baselines this figure is a ratio against
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    note: str = ""


POST_BODY = '{"name": "%s-%%d", "flavor": "m1.small", "image": "ubuntu-22.04"}'
# StackGate's creates go on a /16 of their own: the project's default private network (a /22)
# runs out of addresses after ~1,000 servers, fewer than one POST figure makes.
BENCH_NETWORK, BENCH_CIDR = "bench-net", "10.128.0.0/16"
NET_POST_BODY = POST_BODY[:-1] + f', "networks": ["{BENCH_NETWORK}"]}}'

# fmt: off
SPECS = [
    Spec("A", "A  bare Starlette JSON", "starlette", "static", "/a"),
    Spec("B", "B  FastAPI + Pydantic model", "fastapi", "static", "/b", vs=("A",)),
    Spec("C", "C  FastAPI + ORM session.get", "fastapi", "ids", "/c/", vs=("A",)),
    Spec("get", "GET /api/v1/vms/{id}", "serve", "ids", "/api/v1/vms/", vs=("C", "A", "D")),
    Spec("D", "D  FastAPI + raw asyncpg fetchrow", "fastapi", "ids", "/d/", vs=("A",),
         databases=("postgresql",), note="PostgreSQL only"),
    Spec("E", "E  FastAPI + ORM keyset page 50", "fastapi", "static", "/e?per_page=50"),
    Spec("list", "GET /api/v1/vms?per_page=50", "serve", "static", "/api/v1/vms?per_page=50",
         vs=("E",), note="page mode: also counts the matching rows for `total`"),
    Spec("list_keyset", "GET /api/v1/vms?limit=50", "serve", "static", "/api/v1/vms?limit=50",
         vs=("E",), note="keyset mode (next_cursor, no total); extra"),
    Spec("F", "F  FastAPI + ORM insert, 201", "fastapi", "post", "/f", POST_BODY % "bench-f"),
    Spec("post", "POST /api/v1/vms", "serve", "post", "/api/v1/vms", NET_POST_BODY % "bench-sg",
         vs=("F",), note="stackgate serve: its in-process worker builds the servers meanwhile"),
    Spec("post_api", "POST /api/v1/vms (api only)", "api", "post", "/api/v1/vms",
         NET_POST_BODY % "bench-api", vs=("F",),
         note="stackgate api: no worker in the process; extra"),
]
# fmt: on
SPEC_BY_KEY = {s.key: s for s in SPECS}
