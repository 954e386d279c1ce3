"""The bus as metrics: commands waiting to be claimed and how long the oldest has waited.

A scrape first awaits `refresh()` (one small query), then the registry reads the stored values; a
database that does not answer leaves the gauges out of that scrape instead of failing it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from zilean.db.bus.commands import CommandQueue
from zilean.db.bus.records import TRANSIENT_ERRORS, describe
from zilean.db.connector import utcnow

log = logging.getLogger(__name__)

QUERY_TIMEOUT_S = 2.0


class BusGauges(Collector):
    """`zilean_bus_pending_commands` and `zilean_bus_oldest_pending_seconds` for some shards (or all)."""

    def __init__(
        self, commands: CommandQueue, shard_ids: Sequence[int] | None = None, shard_count: int = 1
    ) -> None:
        self._commands = commands
        self.shard_ids = None if shard_ids is None else tuple(shard_ids)
        self.shard_count = shard_count
        self._pending: int | None = None
        self._oldest_s = 0.0

    async def refresh(self) -> None:
        """Read the numbers now (before a scrape)."""
        try:
            async with asyncio.timeout(QUERY_TIMEOUT_S):
                count, oldest = await self._commands.pending_summary(self.shard_ids, self.shard_count)
        except (*TRANSIENT_ERRORS, TimeoutError) as exc:
            log.debug("bus metrics unavailable: %s", describe(exc))
            self._pending = None
            return
        self._pending = count
        self._oldest_s = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0

    def collect(self) -> Iterator[Metric]:
        if self._pending is None:
            return
        yield GaugeMetricFamily(
            "zilean_bus_pending_commands",
            "Commands queued on the bus and not yet claimed by a bot",
            value=self._pending,
        )
        yield GaugeMetricFamily(
            "zilean_bus_oldest_pending_seconds",
            "How long the oldest unclaimed command has waited (0 when none waits)",
            value=self._oldest_s,
        )
