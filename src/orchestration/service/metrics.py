"""`/metrics`: this process's counters, with the service-wide gauges read from the database."""

from __future__ import annotations

import asyncio
import logging

from orchestration import storage
from orchestration.observability import metrics

log = logging.getLogger(__name__)

READ_DEADLINE = 2.0
"""Seconds the database has to give the gauges; a scrape never hangs on it."""


class MetricsService:
    def __init__(self, db: storage.Database) -> None:
        self._db = db

    async def exposition(self) -> bytes:
        """The Prometheus text; without the database, its gauges are NaN and the counters still there."""
        gauges: metrics.ServiceGauges | None = None
        try:
            async with asyncio.timeout(READ_DEADLINE):
                async with self._db.read() as conn:
                    gauges = metrics.ServiceGauges(*await storage.count_gauges(conn))
        except Exception as exc:  # whatever the driver raises: the scrape still answers
            log.warning("metrics: the database did not give the gauges: %s", type(exc).__name__)
        in_use, open_ = self._db.pool_use()
        return metrics.exposition(gauges, metrics.PoolUse(in_use=in_use, open=open_))
