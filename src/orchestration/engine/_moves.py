"""How an instance moves forward in the database: the stage rows, history, events and metrics of
`advance`, in the caller's transaction; and the transactions that end or park instances in place,
without a workflow (`_in_place`), with the same writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from orchestration import events, storage
from orchestration.observability import metrics, traces

from . import _runtime


def _now() -> datetime:
    return datetime.now(UTC)


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


@dataclass(frozen=True)
class Moved:
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


async def move(
    conn: storage.Connection,
    instance: storage.InstanceRow,
    *,
    finish: StageEnd | None,
    starts: list[StageStart],
    terminate: bool,
    error: str | None,
    now: datetime | None = None,
) -> Moved:
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
    return Moved(instance, started, _durations(ended, starts, now), terminated, error, reported)


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


async def _end_all(conn: storage.Connection, ends: Sequence[InPlaceEnd]) -> tuple[list[InPlace], list[Moved]]:
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
        Moved(
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
            moved = await move(conn, instance, finish=None, starts=park.starts, terminate=False, error=None,
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
