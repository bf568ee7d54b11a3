"""A survivor's takeover of a silent worker is finished even when its first try fails: tried again
at the next heartbeat, and the dead worker forgotten only once its instances are resumed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from orchestration import storage
from orchestration.engine import _takeover

SILENCE = timedelta(seconds=10)


async def test_a_takeover_that_fails_is_tried_again_at_the_next_beat(
    db: storage.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.begin() as conn:
        await storage.beat(conn, "dead", datetime.now(UTC) - timedelta(hours=1))
    tries: list[str] = []

    async def take_over(executor_id: str, queue: str) -> None:
        tries.append(executor_id)
        if len(tries) == 1:
            raise OSError("the engine's database did not answer")

    monkeypatch.setattr(_takeover, "_take_over", take_over)
    lost_started = asyncio.Event()

    async def start_lost(created_before: datetime) -> None:
        lost_started.set()

    keep_alive = asyncio.create_task(_takeover.keep_alive(
        db, me="survivor", queue="instances", every=timedelta(milliseconds=20), takeover_after=SILENCE,
        start_lost=start_lost,
    ))
    try:
        await asyncio.wait_for(lost_started.wait(), timeout=30)
    finally:
        keep_alive.cancel()
        await asyncio.gather(keep_alive, return_exceptions=True)
    assert tries == ["dead", "dead"]
    async with db.begin() as conn:  # taken over, then forgotten: nobody claims it again
        later = datetime.now(UTC) + SILENCE * 10
        assert "dead" not in await storage.claim_dead(conn, me="other", now=later, silent_for=SILENCE)
