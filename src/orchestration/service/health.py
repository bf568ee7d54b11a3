"""Is this process able to work: its database, its engine worker, its bus (`/_healthcheck`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from orchestration import storage

PING_DEADLINE = 2.0
"""Seconds the database has to answer a health check."""

DATABASE_ERRORS = storage.DATABASE_ERRORS
"""What a use case raises when its database fails it (`database_unreachable` says if it is down)."""
database_unreachable = storage.unreachable

Probe = Callable[[], str | None]
"""Why a part is down, or None when it is up."""


class HealthService:
    def __init__(self, db: storage.Database, probes: dict[str, Probe]) -> None:
        self._db = db
        self._probes = probes

    async def check(self) -> dict[str, str]:
        """Each part with `OK` or `DOWN: <why>`, `default` summing them up (the original's key)."""
        parts = {"database": await self._database()}
        for name, probe in self._probes.items():
            problem = probe()
            parts[name] = "OK" if problem is None else f"DOWN: {problem}"
        healthy = all(state == "OK" for state in parts.values())
        return {"default": "OK" if healthy else "DOWN", **parts}

    async def _database(self) -> str:
        try:
            async with asyncio.timeout(PING_DEADLINE):
                await self._db.ping()
        except TimeoutError:
            return f"DOWN: no answer within {PING_DEADLINE} s"
        except Exception as exc:  # whatever the driver raises: the message says what
            return f"DOWN: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return "OK"
