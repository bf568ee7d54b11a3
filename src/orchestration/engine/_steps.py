"""The instance workflow's durable steps: its only contact with the world (STYLE R3).

Each step is one database transaction, written so that running it again after a
crash (steps are at-least-once) changes nothing more. One wait is not a step,
`sleep_briefly`: it records nothing, and what it returns does not change a replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, ParamSpec, TypeVar

from dbos import DBOS
from sqlalchemy.exc import SQLAlchemyError

from orchestration import events, storage
from orchestration.observability import metrics, traces
from orchestration.waiting import wait_at_most

from . import _runtime

P = ParamSpec("P")
R = TypeVar("R")

def _now() -> datetime:
    return datetime.now(UTC)


# What a step rides out, and what `sleep_briefly` sleeps through: the database briefly gone.
_DATABASE_TROUBLE = (SQLAlchemyError, OSError, TimeoutError)


def durable_step(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A step that rides out database trouble (a lost connection, a pool exhausted by
    thousands of instances resumed at once) instead of failing its instance: retried
    with a growing pause, for hours in all. Other exceptions are bugs and propagate."""
    return DBOS.step(
        name=name,
        retries_allowed=True,
        max_attempts=25,
        interval_seconds=0.5,
        backoff_rate=1.5,
        should_retry=lambda exc: isinstance(exc, _DATABASE_TROUBLE),
    )


@dataclass(frozen=True)
class StageEnd:
    """A stage that ended: its number and its error (None: it succeeded)."""

    number: int
    error: str | None = None


@dataclass(frozen=True)
class StageStart:
    """A stage to start, as its history shows it."""

    number: int
    name: str
    """The history name (`RunSend`)."""
    input: dict[str, Any] = field(default_factory=dict)
    """The resolved configuration (or the raw one when it did not resolve)."""
    config_error: str | None = None
    """Why its configuration did not resolve: the stage is recorded ended with this error."""
    ended: bool = False
    """Recorded ended as it starts: an instant stage (noop), or one whose config failed."""


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
        moved = await _move(conn, instance, finish=finish, starts=starts, terminate=terminate, error=error)
    moved.report()
    return moved.started.isoformat()


InPlace = Literal["ended", "aborted", "no event"]
"""What ending an instance in place came to: it ended; it had been aborted (nothing to do); its
event was not there to take (its workflow must wait for it)."""


@dataclass(frozen=True)
class InPlaceEnd:
    """An instance to end in place: nothing is left to run but `starts` (instant stages, or the
    first that does not resolve, with `error`), after ending stage `woken`, whose wait is over (a
    wait ends well). With `take_event` (stage, name), that stage's event is taken first."""

    instance_id: str
    woken: int | None
    starts: list[StageStart]
    error: str | None
    take_event: tuple[int, str] | None = None
    span: tuple[str, dict[str, str | int]] | None = None
    """The trace span (name, attributes) around its writes."""


async def end_in_place(ends: Sequence[InPlaceEnd]) -> list[InPlace]:
    """End instances with no workflow, in one transaction: what their workflows would do, with
    the same rows, history, events and metrics. Not a step: a plain transaction, which commits
    all of it or nothing; one per instance would cost a commit each (a burst of wakes is many),
    and each kind of write is one statement for them all. An instance given twice is ended by
    its first end; the others come to "no event" (its workflow finds it ended)."""
    runtime = _runtime.current()
    async with runtime.db.begin() as conn:
        with traces.spans([end.span for end in ends if end.span is not None]):
            outcomes, moves = await _end_all(conn, ends)
    for moved in moves:
        moved.report()
    return outcomes


async def _end_all(conn: storage.Connection, ends: Sequence[InPlaceEnd]) -> tuple[list[InPlace], list[_Moved]]:
    instances = await storage.lock_instances(conn, {end.instance_id for end in ends})
    live: dict[str, InPlaceEnd] = {}
    for end in ends:
        instance = instances.get(end.instance_id)
        if instance is not None and not instance.terminated:
            live.setdefault(end.instance_id, end)
    wanted = [(end.instance_id, *end.take_event) for end in live.values() if end.take_event is not None]
    have = await storage.consume_events(conn, wanted)
    ending = [end for end in live.values() if end.take_event is None or end.instance_id in have]
    now = _now()
    woken = [(end.instance_id, end.woken) for end in ending if end.woken is not None]
    finished = await storage.finish_stages(conn, woken, now=now, error=None)
    await storage.add_stages(conn, [_stage_row(end.instance_id, start, now) for end in ending for start in end.starts])
    terminated = await storage.terminate_instances(conn, [(end.instance_id, end.error) for end in ending], now=now)
    moves = [
        _Moved(
            instances[end.instance_id],
            now,
            _durations(finished.get(end.instance_id), end.starts, now),
            end.instance_id in terminated,
            end.error,
            _reported(instances[end.instance_id], None if end.woken is None else StageEnd(end.woken), end.starts,
                      terminated=True, error=end.error),
        )
        for end in ending
    ]
    if _runtime.current().publish_events:
        await storage.record_events(conn, [event for moved in moves for event in moved.reported], now=now)
    outcomes: list[InPlace] = []
    for end in ends:
        if end.instance_id not in instances or instances[end.instance_id].terminated:
            outcomes.append("aborted")
        elif live[end.instance_id] is end and (end.take_event is None or end.instance_id in have):
            outcomes.append("ended")
        else:
            outcomes.append("no event")
    return outcomes, moves


@dataclass(frozen=True)
class InPlacePark:
    """An instance to park at its start, with no workflow: `starts` recorded (instant stages, then
    the stage that waits) as started at `now`, and that stage's wait: for `event`, or until `wake_at`."""

    instance_id: str
    starts: list[StageStart]
    now: datetime
    event: str | None
    wake_at: datetime | None
    span: tuple[str, dict[str, str | int]]
    """The trace span (name, attributes) around its writes."""


async def park_in_place(park: InPlacePark) -> bool:
    """Park an instance at its start in one transaction: the stage rows, history and events of its
    workflow's first `advance`, and the wait its first `_park` would record. False: nothing written,
    since it had been aborted or started meanwhile. A crash before the commit leaves an instance with
    no stage, started again at the next start-up."""
    runtime = _runtime.current()
    stage = park.starts[-1].number
    async with runtime.db.begin() as conn:
        with traces.span(*park.span):
            instance = await storage.lock_instance(conn, park.instance_id)
            if instance is None or instance.terminated:
                return False
            if await storage.get_stage(conn, park.instance_id, park.starts[0].number) is not None:
                # Started already, by another start of the same instance (a worker's launch lists
                # it unstarted while its run request is still starting it): that one runs it.
                return False
            moved = await _move(conn, instance, finish=None, starts=park.starts, terminate=False, error=None,
                                now=park.now)
            wait = storage.WaitRow(park.instance_id, stage, park.event, park.wake_at, parked_at=park.now)
            await storage.park(conn, wait, tell_within=runtime.settings.look_ahead_interval)
            # Its event may have been sent between the run request's two writes: due at once then.
            due = False
            if park.event is not None and await storage.event_ready(conn, park.instance_id, stage, park.event):
                due = await storage.event_came(conn, park.instance_id, park.event, now=park.now)
    moved.report()
    if park.wake_at is not None:
        runtime.waker.remind(park.wake_at)
    if due:
        runtime.waker.wake_soon()
    return True


@dataclass(frozen=True)
class _Moved:
    """What one move of an instance did, to report once it is committed."""

    instance: storage.InstanceRow
    started: datetime
    durations: list[tuple[str, float]]
    """(history name, seconds) of the stages ended."""
    terminated: bool
    error: str | None
    reported: list[events.Event]
    """Its events, in the order they happened."""

    def report(self) -> None:
        for name, seconds in self.durations:
            metrics.STAGE_DURATION.labels(metrics.stage_type(name)).observe(seconds)
        if self.terminated:
            ended_as = metrics.INSTANCES_FAILED if self.error is not None else metrics.INSTANCES_SUCCEEDED
            ended_as.labels(self.instance.workflow_id).inc()
            _runtime.current().signals.notify(self.instance.id)  # a `?wait=true` of this process answers now


async def _move(
    conn: storage.Connection,
    instance: storage.InstanceRow,
    *,
    finish: StageEnd | None,
    starts: list[StageStart],
    terminate: bool,
    error: str | None,
    now: datetime | None = None,
) -> _Moved:
    """`advance`'s writes, in the caller's transaction, which holds the instance's lock; stages
    start and end at `now` (default: the clock's)."""
    now = now or _now()
    instance_id = instance.id
    ended = None
    if finish is not None:
        ended = await storage.finish_stage(conn, instance_id, finish.number, now=now, error=finish.error)
    started = now
    if starts:
        started = await storage.start_stages(conn, [_stage_row(instance_id, start, now) for start in starts])
    terminated = False
    if terminate:
        terminated = await storage.terminate_instance(conn, instance_id, now=now, error=error)
    reported = _reported(instance, finish, starts, terminated=terminate, error=error)
    if _runtime.current().publish_events:
        await storage.record_events(conn, reported, now=now)
    return _Moved(instance, started, _durations(ended, starts, now), terminated, error, reported)


def _stage_row(instance_id: str, start: StageStart, now: datetime) -> storage.StageRow:
    return storage.new_stage(instance_id, start.number, now=now, name=start.name, input=start.input,
                             error=start.config_error, ended=start.ended)


def _durations(ended: tuple[str, datetime] | None, starts: list[StageStart], now: datetime) -> list[tuple[str, float]]:
    """(history name, seconds) of the stages a move ended: the finished one (`ended`: its name and
    start, when the move ended it), and the starts recorded ended."""
    durations = [(ended[0], (now - ended[1]).total_seconds())] if ended is not None else []
    return durations + [(start.name, 0.0) for start in starts if start.ended or start.config_error is not None]


def _reported(
    instance: storage.InstanceRow, finish: StageEnd | None, starts: list[StageStart], *, terminated: bool,
    error: str | None,
) -> list[events.Event]:
    """The events of a move, in the order they happen."""
    workflow_id, instance_id = instance.workflow_id, instance.id
    reported: list[events.Event] = []
    if finish is not None:
        reported.append(events.stage_ended(workflow_id, instance_id, finish.number, finish.error))
    for start in starts:
        reported.append(events.stage_started(workflow_id, instance_id, start.number))
        if start.ended or start.config_error is not None:
            reported.append(events.stage_ended(workflow_id, instance_id, start.number, start.config_error))
    if terminated:
        reported.append(events.workflow_ended(workflow_id, instance_id, error))
    return reported


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
        instance = await storage.lock_instance(conn, instance_id)
        if instance is None or instance.terminated:
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
                    instance = await storage.lock_instance(conn, instance_id)
                    if instance is None or instance.terminated:
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
