"""Heartbeat and takeover: the instances of a worker that died are resumed by the
survivors within a bounded time, not only when that worker comes back (DESIGN §3)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from dbos import DBOS

from orchestration import storage
from orchestration.observability import metrics
from orchestration.waiting import stop_if_cancelled

log = logging.getLogger(__name__)

# Instances younger than this may still be being started by a live process.
_BEING_STARTED = timedelta(seconds=1)


async def keep_alive(
    db: storage.Database,
    *,
    me: str,
    queue: str,
    every: timedelta,
    takeover_after: timedelta,
    start_lost: Callable[[datetime], Awaitable[None]],
) -> None:
    """Forever: refresh our heartbeat, and resume the pending work of silent workers.

    A process that died between writing an instance's row and starting its workflow, or between
    taking an API-only server's request to start one and starting it, left an instance no engine
    knows of: after a takeover, `start_lost` starts those created before
    the given time. The dead one may have written some just before it died: only the last
    second's are left to whoever is writing them now (starting one twice starts it once). They are
    started beside the heartbeat, which goes on meanwhile: however many they are, this process
    is not found silent for starting them.
    """
    # Claimed by this process, not yet taken over: tried again at the next beat (and, should this
    # process die first, claimed again by another once silent for `takeover_after`).
    claimed: dict[str, datetime] = {}
    lost_before: datetime | None = None  # instances with no stage, created before this, to start
    starting_lost: asyncio.Task[None] | None = None
    try:
        while True:
            lost_before = await _beat(db, me, queue, takeover_after, claimed, lost_before)
            if lost_before is not None and (starting_lost is None or starting_lost.done()):
                # The latest time covers every earlier takeover's.
                starting_lost = asyncio.create_task(_start_lost(start_lost, lost_before, every), name="start-lost")
                lost_before = None
            await asyncio.sleep(every.total_seconds())
    finally:
        if starting_lost is not None:
            starting_lost.cancel()
            await asyncio.gather(starting_lost, return_exceptions=True)


async def _beat(
    db: storage.Database,
    me: str,
    queue: str,
    takeover_after: timedelta,
    claimed: dict[str, datetime],
    lost_before: datetime | None,
) -> datetime | None:
    """One heartbeat, and the takeover of the silent workers claimed (`claimed`, updated); the
    time before which instances with no stage are to be started (`lost_before`, moved on by a
    takeover)."""
    try:
        now = datetime.now(UTC)
        async with db.begin() as conn:
            await storage.beat(conn, me, now)
            claimed |= dict.fromkeys(await storage.claim_dead(conn, me=me, now=now, silent_for=takeover_after), now)
        for executor_id, claimed_at in sorted(claimed.items()):
            try:
                queued = await _take_over(executor_id, queue)
                async with db.begin() as conn:
                    await storage.forget_executor(conn, executor_id, claimed_at=claimed_at)
                    if queued:  # every worker listening polls the queue at once, this one included
                        await storage.tell(conn, storage.NoticeKind.QUEUED, executor_id)
            except Exception as exc:  # kept for the next beat; the others are taken over meanwhile
                stop_if_cancelled()
                storage.log_failure(log, f"taking over silent worker {executor_id} failed; trying again", exc)
                continue
            del claimed[executor_id]
            lost_before = now - _BEING_STARTED
    except Exception as exc:  # a database hiccup must not stop the heartbeat for good
        stop_if_cancelled()
        storage.log_failure(log, "heartbeat or takeover failed; trying again", exc)
    return lost_before


async def _start_lost(start_lost: Callable[[datetime], Awaitable[None]], before: datetime, every: timedelta) -> None:
    """`start_lost(before)`, tried again every `every` until it is done."""
    while True:
        try:
            await start_lost(before)
            return
        except Exception as exc:  # the database may be briefly unreachable
            stop_if_cancelled()
            storage.log_failure(log, "starting the instances silent workers left unstarted failed; trying again", exc)
        await asyncio.sleep(every.total_seconds())


async def _take_over(executor_id: str, queue: str) -> int:
    """Put the silent worker's pending instances back on `queue`; how many."""
    pending = await DBOS.list_workflows_async(
        status=["PENDING"], executor_id=executor_id, load_input=False, load_output=False
    )
    ids = [w.workflow_id for w in pending]
    if not ids:
        log.info("silent worker %s had no pending instance to take over", executor_id)
        return 0
    # Back on the queue: whichever worker dequeues one replays it from its last step.
    await DBOS.resume_workflows_async(ids, queue_name=queue)
    metrics.TAKEOVERS.inc(len(ids))
    log.warning("took over %d pending instance(s) of silent worker %s", len(ids), executor_id)
    return len(ids)


async def release(db: storage.Database, me: str) -> None:
    async with db.begin() as conn:
        await storage.release(conn, me)
