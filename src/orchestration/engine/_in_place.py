"""Instances with nothing to run, ended without a workflow.

A workflow (an instance's, or the continuation of a parked one) costs a start, checkpoints
and an end. When every stage it has left is instant (noop), all it would do is record them and
end the instance (after ending the stage whose wait is over, for a continuation): one
transaction does the same, with the same rows, history, events and metrics. A crash leaves
nothing half-done: the transaction commits all of it or nothing, and then the instance is
started again at the next start-up (its row has no stage) or its wait is still due.
"""

from __future__ import annotations

from typing import Any

from orchestration import storage
from orchestration.observability import traces
from orchestration.stages import StageConfigError, StageDefinitionError

from . import _steps
from ._instance_workflow import log as instance_log
from ._plan import next_starts, resolve, stage_attributes
from ._steps import StageEnd, StageStart


async def start_in_place(instance_id: str, stages: list[Any], variables: dict[str, str]) -> bool:
    """Run an instance whose every stage is instant (or that has none) without a workflow: its
    stages recorded and the instance ended in one transaction. False: it needs a workflow."""
    starts, resolved, error = await next_starts(stages, 0, variables, current=True)
    if resolved is not None:
        return False
    if await _steps.end_in_place(instance_id, finish=None, starts=starts, error=error) == "ended":
        _log_failure(instance_id, starts, error)
    return True


async def wake_in_place(wait: storage.DueWaitRow) -> bool:
    """End a parked instance whose wait is over without a continuation, when no stage after the
    wait runs anything (each is instant, or the first that does not resolve ends it with its
    error). False: it needs a continuation.
    """
    stages = wait.config.get("stages") or []
    try:
        woken = await resolve(stages[wait.stage], wait.variables, current=True)
    except (StageDefinitionError, StageConfigError, IndexError):
        return False
    starts, resolved, error = await next_starts(stages, wait.stage + 1, wait.variables, current=True)
    if resolved is not None:
        return False
    # The woken stage is a wait (delay, wait_event): once it is over, it has nothing left to do.
    with traces.span(f"stage {wait.stage} {woken.kind}", stage_attributes(wait.instance_id, wait.stage, woken)):
        outcome = await _steps.end_in_place(
            wait.instance_id,
            finish=StageEnd(wait.stage),
            starts=starts,
            error=error,
            take_event=(wait.stage, wait.event) if wait.event is not None else None,
        )
    if outcome == "ended":
        _log_failure(wait.instance_id, starts, error)
    return outcome != "no event"


def _log_failure(instance_id: str, starts: list[StageStart], error: str | None) -> None:
    """The workflow's warning for a stage whose configuration does not resolve."""
    if error is not None:
        stage = starts[-1].number
        instance_log.warning("instance %s stage %d failed: %s", instance_id, stage, error,
                    extra={"instance_id": instance_id, "stage": stage})
