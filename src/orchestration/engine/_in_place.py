"""Instances with nothing to run, ended or parked without a workflow.

A workflow (an instance's, or the continuation of a parked one) costs a start, checkpoints
and an end. When every stage it has left is instant (noop), all it would do is record them and
end the instance (after ending the stage whose wait is over, for a continuation): one
transaction does the same, with the same rows, history, events and metrics. Likewise an instance
whose first stage to run begins with a long wait (an event, a delay longer than `--park-after`)
would only record its start and park: one transaction parks it, and its continuation runs the
rest when the wait is over. A crash leaves nothing half-done: the transaction commits all of it
or nothing, and then the instance is started again at the next start-up (its row has no stage)
or its wait is still due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestration import storage
from orchestration.stack import ActivityName
from orchestration.stages import ResolvedStage, StageConfigError, StageDefinitionError, StageFailure, run_stage

from . import _moves, _runtime
from ._instance_workflow import log as instance_log
from ._moves import InPlaceEnd, InPlacePark, StageStart
from ._plan import next_starts, resolve, stage_attributes


async def start_in_place(instance_id: str, stages: list[Any], variables: dict[str, str]) -> bool:
    """Run an instance whose every stage is instant (or that has none) without a workflow: its
    stages recorded and the instance ended in one transaction; or park one whose first stage to
    run begins with a long wait. False: it needs a workflow."""
    starts, resolved, error = await next_starts(stages, 0, variables, current=True)
    if resolved is not None:
        return await _park_at_start(instance_id, starts, resolved)
    end = InPlaceEnd(instance_id, woken=None, starts=starts, error=error)
    if await _moves.end_in_place([end]) == ["ended"]:
        _log_failure(end)
    return True


async def wake_in_place(waits: Sequence[storage.DueWaitRow]) -> set[tuple[str, int]]:
    """End, in one transaction and without a continuation, the parked instances among `waits`
    whose wait is over and after which no stage runs anything (each is instant, or the first
    that does not resolve ends the instance with its error). The (instance, stage) waits it
    dealt with, ended or found aborted; the others need a continuation.
    """
    ends = [end for wait in waits if (end := await _wake_end(wait)) is not None]
    if not ends:
        return set()
    dealt_with: set[tuple[str, int]] = set()
    for end, outcome in zip(ends, await _moves.end_in_place(ends), strict=True):
        if outcome == "ended":
            _log_failure(end)
        if outcome != "no event":
            assert end.woken is not None
            dealt_with.add((end.instance_id, end.woken))
    return dealt_with


async def _wake_end(wait: storage.DueWaitRow) -> InPlaceEnd | None:
    """How to end the woken instance in place; None when a stage after the wait runs something."""
    stages = wait.config.get("stages") or []
    try:
        woken = await resolve(stages[wait.stage], wait.variables, current=True)
    except (StageDefinitionError, StageConfigError, IndexError):
        return None
    starts, resolved, error = await next_starts(stages, wait.stage + 1, wait.variables, current=True)
    if resolved is not None:
        return None
    # The woken stage is a wait (delay, wait_event): once it is over, it has nothing left to do.
    return InPlaceEnd(
        wait.instance_id,
        woken=wait.stage,
        starts=starts,
        error=error,
        take_event=(wait.stage, wait.event) if wait.event is not None else None,
        span=(f"stage {wait.stage} {woken.kind}", stage_attributes(wait.instance_id, wait.stage, woken)),
    )


async def _park_at_start(instance_id: str, starts: list[StageStart], resolved: ResolvedStage) -> bool:
    """Park an instance whose first stage to run begins with a long wait, without a workflow.
    False: it needs its workflow (the stage does something else first, or waits briefly)."""
    now = datetime.now(UTC)
    stage = starts[-1].number
    finder = _FirstWait(instance_id, stage, now)
    try:
        await run_stage(finder, resolved)
    except _Stop:
        pass
    except StageFailure:
        return False  # its workflow fails it, as it records every failure
    if not finder.waits:
        return False
    if finder.wake_at is not None and finder.wake_at - now <= _runtime.current().settings.park_after:
        return False  # waited in memory by its workflow
    span = (f"stage {stage} {resolved.kind}", stage_attributes(instance_id, stage, resolved))
    await _moves.park_in_place(InPlacePark(instance_id, starts, now, finder.event, finder.wake_at, span))
    return True  # parked, or aborted or started meanwhile: nothing to run here either way


class _Stop(BaseException):
    """The stage reached its first durable operation: what it is, is noted. A BaseException, which
    stage code never catches (STYLE R3), like DBOS's cancellation."""


@dataclass
class _FirstWait:
    """A `StageContext` that runs a stage up to its first durable operation and notes it when it is
    a wait: for `event`, or until `wake_at`. Nothing happens: the stage runs again, in its
    continuation (which then waits), or in its workflow (when it does something else first)."""

    instance_id: str
    stage: int
    started_at: datetime
    waits: bool = False
    event: str | None = None
    wake_at: datetime | None = None

    async def sleep_until(self, deadline: datetime) -> None:
        self.waits, self.wake_at = True, deadline
        raise _Stop

    async def wait_event(self, name: str) -> None:
        self.waits, self.event = True, name
        raise _Stop

    async def call(self, activity: ActivityName, request: dict[str, Any]) -> Any:
        raise _Stop

    async def patched(self, change: str) -> bool:
        return True  # a run of this release


def _log_failure(end: InPlaceEnd) -> None:
    """The workflow's warning for a stage whose configuration does not resolve."""
    if end.error is not None:
        stage = end.starts[-1].number
        instance_log.warning("instance %s stage %d failed: %s", end.instance_id, stage, end.error,
                             extra={"instance_id": end.instance_id, "stage": stage})
