"""The instance workflow's durable steps: its only contact with the world (STYLE R3).

Each step is one database transaction, written so that running it again after a
crash (steps are at-least-once) changes nothing more. One wait is not a step,
`sleep_briefly`: it records nothing, and what it returns does not change a replay. Nor is an
activity's attempt in the runs of this release (`_activity_steps`): its row records it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Literal, ParamSpec, TypeVar

from dbos import DBOS
from sqlalchemy.exc import SQLAlchemyError

from orchestration import storage
from orchestration.waiting import wait_at_most

from . import _runtime
from ._moves import StageEnd, StageStart, move

P = ParamSpec("P")
R = TypeVar("R")

def _now() -> datetime:
    return datetime.now(UTC)


# What a step rides out, and what `sleep_briefly` sleeps through: the database briefly gone.
_DATABASE_TROUBLE = (SQLAlchemyError, OSError, TimeoutError)


# How a step rides out database trouble: tried this many times, the pause growing from the first.
_TRIES = 25
_FIRST_PAUSE_S = 0.5
_PAUSE_GROWTH = 1.5


def durable_step(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A step that rides out database trouble (a lost connection, a pool exhausted by
    thousands of instances resumed at once) instead of failing its instance: retried
    with a growing pause, for hours in all. Other exceptions are bugs and propagate."""
    return DBOS.step(
        name=name,
        retries_allowed=True,
        max_attempts=_TRIES,
        interval_seconds=_FIRST_PAUSE_S,
        backoff_rate=_PAUSE_GROWTH,
        should_retry=lambda exc: isinstance(exc, _DATABASE_TROUBLE),
    )


async def riding_out_trouble(run: Callable[[], Awaitable[R]]) -> R:
    """`run()`, tried again through database trouble as a `durable_step` is: for what records itself
    in our tables (an activity's attempt) and needs no step of DBOS's."""
    pause = _FIRST_PAUSE_S
    for _ in range(_TRIES - 1):
        try:
            return await run()
        except _DATABASE_TROUBLE:
            await asyncio.sleep(pause)
            pause *= _PAUSE_GROWTH
    return await run()


@durable_step("orchestration.advance")
async def advance(
    instance_id: str,
    *,
    finish: StageEnd | None,
    starts: list[StageStart],
    terminate: bool,
    error: str | None,
) -> str | None:
    """Move an instance forward in one transaction.

    Ends stage `finish`, starts the stages `starts` in order (all but the last recorded ended:
    stages with nothing to run) and/or terminates the instance with `error`. Returns the last
    started stage's start time (ISO; now when none starts), or None when the instance was aborted
    meanwhile: the workflow must then stop.
    """
    runtime = _runtime.current()
    async with runtime.db.begin() as conn:
        instance = await storage.lock_instance(conn, instance_id)
        if instance is None or instance.terminated:
            return None
        moved = await move(conn, instance, finish=finish, starts=starts, terminate=terminate, error=error)
    moved.report()
    return moved.started.isoformat()




Parking = Literal["parked", "ended", "ready"]


async def _park(instance_id: str, stage: int, *, event: str | None = None, wake_at: datetime | None = None) -> Parking:
    """Park the instance in `stage` unless its wait is (almost) over: "ready" then.

    "parked" also when an earlier run of the same step parked it (a crash before
    the step's result was recorded): a continuation takes over from there, maybe
    already, so this workflow must stop.
    """
    runtime = _runtime.current()
    db = runtime.db
    # Waits shorter than `park_after` happen in memory (a delay known to be short, an
    # event that comes soon): parking and waking cost more than they save.
    if wake_at is not None and wake_at - _now() <= runtime.settings.park_after:
        async with db.read() as conn:  # too short to park: no write lock needed
            instance = await storage.get_instance(conn, instance_id)
            parked = await storage.get_wait(conn, instance_id, stage) is not None
        if instance is None or instance.terminated:
            return "ended"
        return "parked" if parked else "ready"
    async with db.begin() as conn:
        terminated = await storage.lock_terminated(conn, instance_id)
        if terminated is None or terminated:
            return "ended"
        if await storage.get_wait(conn, instance_id, stage) is not None:
            return "parked"
        if event is not None and await storage.consume_event(conn, instance_id, stage, event):
            return "ready"
        await storage.park(
            conn,
            storage.WaitRow(instance_id=instance_id, stage=stage, event=event, wake_at=wake_at, parked_at=_now()),
            tell_within=runtime.settings.look_ahead_interval,
        )
    return "parked"


@durable_step("orchestration.sleep_until")
async def sleep_until(instance_id: str, deadline_iso: str, park_stage: int | None = None) -> bool | None:
    """Wait until the deadline; False if the instance was aborted first.

    With `park_stage`, a long wait parks the instance in that stage instead and
    returns None: the workflow must end, the waker continues it at the deadline.
    """
    runtime = _runtime.current()
    deadline = datetime.fromisoformat(deadline_iso)
    if park_stage is not None:
        parking = await _park(instance_id, park_stage, wake_at=deadline)
        if parking == "ended":
            return False
        if parking == "parked":
            runtime.waker.remind(deadline)
            return None
    with runtime.signals.subscribe(instance_id) as wake:
        while True:
            wake.clear()
            async with runtime.db.read() as conn:
                instance = await storage.get_instance(conn, instance_id)
            if instance is None or instance.terminated:
                return False
            remaining = (deadline - _now()).total_seconds()
            if remaining <= 0:
                return True
            await wait_at_most(wake, remaining)


async def sleep_briefly(instance_id: str, deadline: datetime) -> bool:
    """Not a step: sleep in memory until the deadline; False if the instance was aborted meanwhile,
    as its signal tells (then one read looks). Nothing is read otherwise, nothing is recorded: the
    `advance` before it found the instance running, and the one after finds an abort not heard
    of here (a replay may stop one step later than the first run did, never elsewhere); so a read
    that fails is let go, and the sleep goes on."""
    runtime = _runtime.current()
    with runtime.signals.subscribe(instance_id) as wake:
        while (remaining := (deadline - _now()).total_seconds()) > 0:
            if not await wait_at_most(wake, remaining):
                break
            wake.clear()
            try:
                async with runtime.db.read() as conn:
                    instance = await storage.get_instance(conn, instance_id)
            except _DATABASE_TROUBLE:
                continue
            if instance is None or instance.terminated:
                return False
    return True


@durable_step("orchestration.wait_event")
async def wait_event(instance_id: str, stage: int, name: str, park: bool = False) -> bool | None:
    """Wait for an event called `name` and consume it; False if the instance was aborted first.

    With `park`, a wait that lasts longer than `park_after` parks the instance and
    returns None: the workflow must end, the waker continues it when the event comes.
    """
    runtime = _runtime.current()
    loop = asyncio.get_running_loop()
    patience = loop.time() + runtime.settings.park_after.total_seconds()
    with runtime.signals.subscribe(instance_id) as wake:
        while True:
            wake.clear()
            async with runtime.db.read() as conn:
                instance = await storage.get_instance(conn, instance_id)
                ready = instance is not None and await storage.event_ready(conn, instance_id, stage, name)
                parked = park and await storage.get_wait(conn, instance_id, stage) is not None
            if instance is None or instance.terminated:
                return False
            if parked:
                return None  # by an earlier run of this step: its continuation takes over
            if ready:
                async with runtime.db.begin() as conn:
                    terminated = await storage.lock_terminated(conn, instance_id)
                    if terminated is None or terminated:
                        return False
                    if await storage.consume_event(conn, instance_id, stage, name):
                        return True  # a continuation's wait was marked woken by the waker that started it
                continue
            if not park:
                await wake.wait()
                continue
            if loop.time() >= patience:
                parking = await _park(instance_id, stage, event=name)
                if parking == "parked":
                    return None
                return parking == "ready"
            await wait_at_most(wake, patience - loop.time())
