"""The composition root: Settings in, long-lived parts out (API, worker, CLI alike)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from limits.aio.storage import Storage
from limits.storage import storage_from_string
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stackgate import features
from stackgate.activity.operations.service import OperationService
from stackgate.activity.stream.service import EventStreamService
from stackgate.audit.service import AuditService
from stackgate.block_storage import public as block_storage
from stackgate.block_storage.snapshots.service import SnapshotService
from stackgate.block_storage.volumes.service import VolumeService
from stackgate.catalog.service import CatalogService
from stackgate.compute import public as compute_public
from stackgate.compute.actions.service import ServerActionService
from stackgate.compute.servers.service import ComputeConfig, ServerService
from stackgate.config import Settings
from stackgate.core.clock import Clock, SystemClock
from stackgate.core.db import create_engine, create_sessionmaker, ensure_sqlite_dir
from stackgate.core.operations import OperationFactory
from stackgate.events.feed import EventFeed
from stackgate.events.recorder import install_recorder
from stackgate.events.relay import OutboxRelay, RelayConfig, build_relay
from stackgate.events.sequencer import Sequencer
from stackgate.identity import quotas
from stackgate.identity.credentials.service import CredentialService
from stackgate.identity.projects.service import ProjectService
from stackgate.identity.repository import IdentityUoW
from stackgate.identity.security import PasswordHasher, TokenCodec
from stackgate.identity.seed import SeedResult, ensure_identity, signing_secret
from stackgate.identity.tokens.service import AuthService, LoginLimits
from stackgate.identity.users.service import UserService
from stackgate.network import public as network
from stackgate.network.floating_ips.service import FloatingIPService
from stackgate.network.networks.service import NetworkService
from stackgate.network.ports.service import PortService
from stackgate.network.security_groups.service import SecurityGroupService
from stackgate.providers.base import Provider, ProviderMisconfigured
from stackgate.providers.breaker import CircuitBreaker, GuardedProvider
from stackgate.providers.health import CloudGuard
from stackgate.providers.registry import build_provider
from stackgate.wiring import HandlerParts
from stackgate.worker.reconciler import Reconciler
from stackgate.worker.registry import HandlerRegistry
from stackgate.worker.runner import Runner

log = structlog.get_logger("stackgate.bootstrap")


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    provider: Provider
    # Refuses requests that need the cloud while the provider's breaker is open.
    cloud_guard: CloudGuard
    clock: Clock
    # Queues operations with the configured deadline (every use case gets its operations here).
    operations: OperationFactory
    runner: Runner
    reconciler: Reconciler
    servers: ServerService
    server_actions: ServerActionService
    catalog: CatalogService
    hasher: PasswordHasher
    codec: TokenCodec
    auth: AuthService
    credentials: CredentialService
    projects: ProjectService
    users: UserService
    audit: AuditService
    security_groups: SecurityGroupService
    networks: NetworkService
    ports: PortService
    floating_ips: FloatingIPService
    volumes: VolumeService
    volume_snapshots: SnapshotService
    # Numbers committed events for the live stream (events/sequencer.py); runs in every process.
    sequencer: Sequencer
    # This process's live streams read and fan out the numbered events (events/feed.py).
    feed: EventFeed
    event_stream: EventStreamService
    operation_reads: OperationService
    # Publishes the outbox (events/relay.py); runs wherever the worker runs.
    relay: OutboxRelay | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def prepare_identity(self) -> SeedResult:
        """Seed the first admin and demo user if this is the first start; load the signing key."""
        secrets = self.settings
        result = await ensure_identity(
            IdentityUoW(self.sessionmaker),
            hasher=self.hasher,
            clock=self.clock,
            admin_password=_secret(secrets.admin_password),
            demo_password=_secret(secrets.demo_password),
        )
        self.codec.secret = _secret(secrets.secret_key) or await signing_secret(
            IdentityUoW(self.sessionmaker)
        )
        return result

    async def start(self, *, worker: bool) -> SeedResult:
        """Open the provider and identity; with `worker`, run the worker and reconciler here.
        A provider whose configuration cannot work stops the start here (the process exits
        non-zero) rather than leaving every operation to wait out its deadline."""
        try:
            await self.provider.start()
        except ProviderMisconfigured as exc:
            log.error("provider_misconfigured", provider=self.provider.name, error=exc.message)
            raise
        seeded = await self.prepare_identity()
        self._stop.clear()
        self._tasks = [asyncio.create_task(self.sequencer.run(self._stop))]
        if worker:
            self._tasks += [
                asyncio.create_task(self.runner.run(self._stop)),
                asyncio.create_task(self.reconciler.run(self._stop)),
                *([asyncio.create_task(self.relay.run(self._stop))] if self.relay else []),
            ]
        return seeded

    async def close(self) -> None:
        self._stop.set()
        await self.feed.close()
        for task in self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 15)
        self._tasks = []
        await self.provider.close()
        await self.engine.dispose()

    async def check_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def bootstrap(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    provider: Provider | None = None,
    clock: Clock | None = None,
) -> Container:
    """Build every long-lived part from settings; tests pass their own engine or provider."""
    ensure_sqlite_dir(settings.database_url)
    engine = engine or create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    sessionmaker = create_sessionmaker(engine)
    clock = clock or SystemClock()
    # Every operation a use case queues comes from here: the configured deadline, one clock.
    operations = OperationFactory(clock, timedelta(seconds=settings.operation_timeout))
    breaker = CircuitBreaker(
        failures=settings.provider_breaker_failures,
        reset_seconds=settings.provider_breaker_reset_seconds,
    )
    provider = GuardedProvider(provider or build_provider(settings), breaker)
    cloud_guard = CloudGuard(sessionmaker, breaker, provider=provider.name, clock=clock)
    breaker.on_change = cloud_guard.record
    # Every state change of a resource writes its events in the same transaction.
    relay = build_relay(
        sessionmaker,
        clock=clock,
        broker_url=settings.broker_url,
        config=RelayConfig(
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval,
            max_backoff=settings.outbox_max_backoff,
            publish_timeout=settings.outbox_publish_timeout,
            retention=timedelta(hours=settings.outbox_retention_hours),
        ),
    )
    sequencer = Sequencer(sessionmaker, poll_interval=settings.events_sequencer_poll)
    feed = EventFeed(sessionmaker, poll_interval=settings.events_poll_interval)
    sequencer.on_stamped(feed.wakeup)

    def recorded() -> None:
        relay.wakeup()
        sequencer.wakeup()

    install_recorder(
        sessionmaker, clock=clock, derivations=features.derivations(), on_commit=recorded
    )
    registry = HandlerRegistry(
        features.handlers(
            HandlerParts(
                sessionmaker=sessionmaker,
                provider=provider,
                clock=clock,
                operations=operations,
                poll_interval=settings.worker_poll_interval,
            )
        )
    )
    runner = Runner(
        sessionmaker,
        registry,
        clock=clock,
        concurrency=settings.worker_concurrency,
        poll_interval=settings.worker_poll_interval,
        lease_seconds=settings.worker_lease_seconds,
    )
    servers = ServerService(
        sessionmaker,
        clock=clock,
        operations=operations,
        wakeup=runner.wakeup,
        config=ComputeConfig(
            idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
            max_wait=settings.max_wait_seconds,
        ),
    )
    volumes = VolumeService(
        sessionmaker,
        clock=clock,
        operations=operations,
        idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
        wakeup=runner.wakeup,
    )
    hasher = PasswordHasher(fast=settings.password_hash_fast)
    codec = TokenCodec(None, ttl=timedelta(seconds=settings.token_ttl_seconds), clock=clock)
    auth = AuthService(
        sessionmaker,
        hasher=hasher,
        codec=codec,
        clock=clock,
        limits=LoginLimits(settings.login_attempts_per_user, settings.login_attempts_per_address),
        storage=_limits_storage(settings),
        cache_seconds=settings.auth_cache_seconds,
    )
    return Container(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        provider=provider,
        cloud_guard=cloud_guard,
        clock=clock,
        operations=operations,
        runner=runner,
        reconciler=Reconciler(
            sessionmaker,
            clock=clock,
            interval=settings.reconcile_interval,
            repairs=features.repairs(),
        ),
        relay=relay,
        servers=servers,
        server_actions=ServerActionService(servers),
        catalog=CatalogService(
            sessionmaker,
            usage=compute_public.servers_using,
            operations=operations,
        ),
        hasher=hasher,
        codec=codec,
        auth=auth,
        credentials=CredentialService(
            sessionmaker, hasher=hasher, clock=clock, on_change=auth.forget
        ),
        projects=ProjectService(
            sessionmaker,
            clock=clock,
            # Every feature's usage, for GET quotas (each feature enforces with its own).
            usage=quotas.combined(
                block_storage.volume_usage,
                compute_public.project_usage,
                network.sg_usage,
                network.network_usage,
            ),
            on_change=auth.forget,
        ),
        users=UserService(sessionmaker, hasher=hasher, clock=clock, on_change=auth.forget),
        audit=AuditService(sessionmaker),
        networks=NetworkService(sessionmaker, operations=operations, wakeup=runner.wakeup),
        ports=PortService(sessionmaker, operations=operations, wakeup=runner.wakeup),
        floating_ips=FloatingIPService(
            sessionmaker,
            operations=operations,
            server_owner=compute_public.server_project,
            wakeup=runner.wakeup,
        ),
        security_groups=SecurityGroupService(
            sessionmaker, operations=operations, wakeup=runner.wakeup
        ),
        volumes=volumes,
        volume_snapshots=SnapshotService(
            sessionmaker, clock=clock, operations=operations, wakeup=runner.wakeup
        ),
        sequencer=sequencer,
        feed=feed,
        event_stream=EventStreamService(feed),
        operation_reads=OperationService(sessionmaker, feed),
    )


def _limits_storage(settings: Settings) -> Storage | None:
    """Login throttling shared through Redis when configured, else per process."""
    if settings.redis_url is None:
        return None
    storage = storage_from_string(f"async+{settings.redis_url}")
    assert isinstance(storage, Storage)
    return storage
