"""Settings: one pydantic-settings model, `STACKGATE_` prefix, `.env` support."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/stackgate.db"
DEFAULT_BILLING_DATABASE_URL = "sqlite+aiosqlite:///./data/billing.db"


def billing_url_for(database_url: str) -> str:
    """The billing database of an install whose control plane is at `database_url`, when
    STACKGATE_BILLING_DATABASE_URL is unset: the default database keeps ./data/billing.db;
    another SQLite file gets one beside it (./data/on-fake.db -> ./data/on-fake-billing.db),
    an in-memory one an in-memory one; a server database (PostgreSQL, MariaDB) a SQLite file
    named after it (./data/billing-<database>.db)."""
    if database_url == DEFAULT_DATABASE_URL:
        return DEFAULT_BILLING_DATABASE_URL
    try:
        url = make_url(database_url)
    except ArgumentError:
        return DEFAULT_BILLING_DATABASE_URL
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path in ("", ":memory:") or path.startswith("file:"):
            return "sqlite+aiosqlite://"
        stem, dot, suffix = path.rpartition(".")
        if not dot or "/" in suffix:
            stem, suffix = path, ""
        return f"sqlite+aiosqlite:///{stem}-billing{'.' + suffix if suffix else ''}"
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in url.database or "stackgate")
    return f"sqlite+aiosqlite:///./data/billing-{name}.db"


class Settings(BaseSettings):
    """Every process (serve, api, worker, migrate) reads the same variables (DESIGN.md 8)."""

    model_config = SettingsConfigDict(
        env_prefix="STACKGATE_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="Control-plane database (SQLAlchemy async URL).",
    )
    billing_database_url: str = Field(
        "",
        validate_default=True,
        description="Billing database (unset: a SQLite file beside the control-plane "
        "database's, so each install bills alone).",
    )
    broker_url: str | None = Field(
        None, description="RabbitMQ URL; unset means in-process delivery."
    )
    redis_url: str | None = Field(None, description="Redis URL for shared limits and caches.")
    provider: Literal["simulator", "openstack"] = Field(
        "simulator", description="Which cloud the worker drives."
    )
    api_url: str | None = Field(None, description="Where the gateway routes /api/v1.")
    billing_url: str | None = Field(None, description="Where the gateway routes billing.")
    gateway_cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins the gateway allows cross-origin calls from, e.g. ["https://ui.example"].',
    )
    gateway_max_body_bytes: int = Field(
        1_048_576, ge=1, description="Largest request body the gateway accepts (then 413)."
    )
    gateway_rate_limit: str = Field(
        "1000/minute",
        description="Requests per client via the gateway, e.g. 1000/minute;50/second (empty: off).",
    )
    gateway_connect_timeout: float = Field(
        3.0, gt=0, description="Seconds the gateway waits to connect to an upstream service."
    )
    gateway_read_timeout: float = Field(
        90.0, gt=0, description="Seconds the gateway waits for an upstream answer (> Prefer: wait)."
    )
    gateway_max_connections: int = Field(
        200, ge=1, description="Connections the gateway keeps to each upstream service."
    )
    gateway_publish_timeout: float = Field(
        5.0, gt=0, description="Seconds the gateway waits for the broker to confirm a publish."
    )
    admin_password: SecretStr | None = Field(
        None, description="The cloud admin's password at first start."
    )
    demo_password: SecretStr | None = Field(
        None, description="The demo user's password at first start (generated if unset)."
    )
    secret_key: SecretStr | None = Field(
        None, description="Token signing key; unset: a key made at first start, kept in the db."
    )
    token_ttl_seconds: int = Field(3600, ge=60, le=30 * 86400, description="Token lifetime.")
    auth_cache_seconds: float = Field(
        2.0, ge=0, le=60, description="How long one process trusts a checked token's grant."
    )
    login_attempts_per_user: int = Field(
        10, ge=1, description="Failed logins per user per minute before 429."
    )
    login_attempts_per_address: int = Field(
        30, ge=1, description="Failed logins per client address per minute before 429."
    )
    password_hash_fast: bool = Field(
        False, description="Cheap argon2 parameters: for test suites only, never production."
    )
    host: str = Field("127.0.0.1", description="Listen address.")
    port: int | None = Field(
        None, ge=1, le=65535, description="Port (serve, gateway 8000; api 8080; billing 8090)."
    )
    log_level: str = Field("INFO", description="Log level of the JSON log lines.")
    log_json: bool = Field(True, description="Structured JSON logs (false: console format).")

    db_pool_size: int = Field(10, ge=1, le=200, description="Connections per process pool.")
    db_max_overflow: int = Field(10, ge=0, le=200, description="Extra connections on bursts.")

    embedded_worker: bool = Field(
        True, description="`serve` runs the worker in the API process (the embedded default)."
    )
    worker_concurrency: int = Field(
        16, ge=1, le=256, description="Operations one worker drives at once."
    )
    worker_poll_interval: float = Field(
        0.25, gt=0, le=30, description="Seconds between polls of the operation table when idle."
    )
    worker_lease_seconds: float = Field(
        60, gt=0, description="How long a claimed operation stays with its worker."
    )
    operation_timeout: float = Field(
        600, gt=0, description="Deadline of one cloud operation; past it the server is ERROR."
    )
    reconcile_interval: float = Field(30, gt=0, description="Seconds between reconciler passes.")
    idempotency_ttl_hours: int = Field(
        24, ge=1, description="How long an Idempotency-Key is remembered."
    )
    max_wait_seconds: int = Field(60, ge=0, description="Upper bound of `Prefer: wait=N`.")
    billing_prices: str | None = Field(
        None, description="Billing price list file (.toml or .json); unset: built-in prices."
    )
    billing_prefetch: int = Field(
        20, ge=1, le=1000, description="Unacked messages one billing consumer holds (batch size)."
    )
    billing_retry_seconds: float = Field(
        600,
        gt=0,
        le=1500,
        description="How long billing retries a failed database write in "
        "place before returning the messages to the queue.",
    )
    outbox_batch_size: int = Field(
        100, ge=1, le=1000, description="Events the relay publishes per outbox transaction."
    )
    outbox_poll_interval: float = Field(
        0.5, gt=0, description="Seconds between polls of the outbox when idle."
    )
    outbox_max_backoff: float = Field(
        5.0, gt=0, description="Longest pause of the relay while the broker is away."
    )
    outbox_publish_timeout: float = Field(
        10.0, gt=0, description="Seconds the relay waits for a broker connection or confirm."
    )
    outbox_retention_hours: int = Field(
        168,
        ge=1,
        description="How long published events stay in the outbox table (and so how far back "
        "a live event stream can resume).",
    )
    events_poll_interval: float = Field(
        0.5,
        gt=0,
        le=60,
        description="Seconds between reads of new events while streams are open (on "
        "PostgreSQL, LISTEN/NOTIFY wakes them at once and this is a safety net).",
    )
    events_sequencer_poll: float = Field(
        5.0,
        gt=0,
        le=300,
        description="Seconds between the sequencer's checks for events no commit announced "
        "(a process that died between its commit and numbering them).",
    )

    sim_speed: float = Field(1.0, ge=0, description="Simulator time factor (0 = instant).")
    sim_failure_rate: float = Field(
        0.0, ge=0, le=1, description="Fraction of simulated operations that fail into ERROR."
    )
    sim_api_error_rate: float = Field(
        0.0, ge=0, le=1, description="Fraction of simulated API calls that answer 5xx."
    )
    sim_seed: int | None = Field(None, description="Random seed of the simulator.")
    sim_database_url: str = Field(
        "sqlite+aiosqlite:///./data/simulator.db",
        description="Where the simulated cloud keeps its state.",
    )
    sim_hypervisors: int = Field(4, ge=0, le=10_000, description="Simulated compute hosts.")
    sim_hypervisor_vcpus: int = Field(64, ge=1, description="vCPUs per simulated host.")
    sim_hypervisor_ram_mb: int = Field(262_144, ge=1, description="RAM (MB) per simulated host.")
    sim_hypervisor_disk_gb: int = Field(4_000, ge=1, description="Disk (GB) per simulated host.")
    sim_durations: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description='Per-operation duration ranges in seconds, e.g. {"create": [2, 5]}.',
    )

    os_cloud: str | None = Field(
        None,
        description="openstack provider: the clouds.yaml cloud to use (unset: the OS_* variables).",
    )
    os_threads: int = Field(
        16, ge=1, le=256, description="openstack provider: threads running blocking SDK calls."
    )
    os_call_timeout: float = Field(
        30.0, gt=0, description="openstack provider: seconds one cloud API call may take."
    )
    os_project_prefix: str = Field(
        "stackgate-",
        description="openstack provider: a StackGate project acts in the Keystone project "
        "named prefix + its id (made on first use).",
    )
    os_member_role: str = Field(
        "member",
        description="openstack provider: the role its user takes on those Keystone projects.",
    )
    provider_breaker_failures: int = Field(
        5, ge=1, description="Consecutive failed cloud calls that open the circuit breaker."
    )
    provider_breaker_reset_seconds: float = Field(
        30.0, gt=0, description="How long an open breaker fails cloud calls fast before a trial."
    )

    @field_validator("database_url", "billing_database_url", "sim_database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept plain URLs as users write them and pick the async driver."""
        replacements = {
            "postgresql://": "postgresql+asyncpg://",
            "postgres://": "postgresql+asyncpg://",
            "mysql://": "mysql+aiomysql://",
            "mariadb://": "mysql+aiomysql://",
            "sqlite://": "sqlite+aiosqlite://",
        }
        for plain, driver in replacements.items():
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    @field_validator("billing_database_url")
    @classmethod
    def _billing_beside_control_plane(cls, url: str, info: ValidationInfo) -> str:
        """Unset: derived from the control-plane database, never one shared file. Two
        installs in one directory (`make run` and StackGate on the fake cloud) used to share
        ./data/billing.db, and as every install's demo project has the same id, each one's
        usage report listed the other's servers."""
        if url:
            return url
        return billing_url_for(info.data.get("database_url") or DEFAULT_DATABASE_URL)

    def listen_port(self, default: int) -> int:
        """The configured port, or the default of the command being run."""
        return self.port if self.port is not None else default


@lru_cache
def get_settings() -> Settings:
    """The process settings, read once."""
    return Settings()
