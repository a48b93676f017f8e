"""Optimistic concurrency (CONVENTIONS.md, Transactions): two sessions change the same row;
the second commit is refused with ConcurrentUpdate instead of silently losing the first."""

from __future__ import annotations

import pytest

from stackgate.bootstrap import Container
from stackgate.compute.repository import ComputeUoW
from stackgate.core.context import RequestContext
from stackgate.core.errors import ConcurrentUpdate
from tests.integration.helpers import create_server, server_row


class TestOptimisticConcurrency:
    async def test_the_second_writer_of_a_stale_row_is_refused(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await create_server(container, ctx, name="original")
        async with (
            ComputeUoW(container.sessionmaker) as first,
            ComputeUoW(container.sessionmaker) as second,
        ):
            mine = await first.servers.get(ctx.project_id, server.id)
            theirs = await second.servers.get(ctx.project_id, server.id)
            assert mine is not None and theirs is not None
            assert mine.version == theirs.version == server.version
            mine.name = "first"
            theirs.name = "second"
            await first.commit()
            with pytest.raises(ConcurrentUpdate) as raised:
                await second.commit()
        assert raised.value.code == "concurrent_update"
        row = await server_row(container, server.id)
        assert (row.name, row.version) == ("first", server.version + 1)

    async def test_a_flush_of_a_stale_row_is_refused_too(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await create_server(container, ctx, name="original")
        async with (
            ComputeUoW(container.sessionmaker) as first,
            ComputeUoW(container.sessionmaker) as second,
        ):
            mine = await first.servers.get(ctx.project_id, server.id)
            theirs = await second.servers.get(ctx.project_id, server.id)
            assert mine is not None and theirs is not None
            mine.description = "first"
            await first.commit()
            theirs.description = "second"
            with pytest.raises(ConcurrentUpdate):
                await second.flush()
        assert (await server_row(container, server.id)).description == "first"

    async def test_writers_in_turn_both_succeed(
        self, container: Container, ctx: RequestContext
    ) -> None:
        server = await create_server(container, ctx)
        for name in ("one", "two"):
            async with ComputeUoW(container.sessionmaker) as uow:
                row = await uow.servers.get(ctx.project_id, server.id)
                assert row is not None
                row.name = name
                await uow.commit()
        row = await server_row(container, server.id)
        assert (row.name, row.version) == ("two", server.version + 2)
