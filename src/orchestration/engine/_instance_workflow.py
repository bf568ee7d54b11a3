"""The instance workflow: run the stages of one instance in order (spec §4.2).

This is workflow code: DBOS replays it from the top after a crash, with the
recorded results of the steps already done, so it must not touch the world
except through `_steps` (no clock, no randomness, no I/O here).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from dbos import DBOS

from orchestration.observability import traces
from orchestration.stack import ActivityName
from orchestration.stages import (
    OPTIONS_PATCH,
    ResolvedStage,
    StageConfigError,
    StageDefinitionError,
    StageFailure,
    as_read_before_options,
    history_name,
    parse_stage,
    resolve_stage,
    run_stage,
)

from . import _retry, _runtime, _steps
from ._interrupts import InstanceAborted, InstanceParked
from ._steps import StageEnd, StageStart

log = logging.getLogger(__name__)

WORKFLOW_NAME = "orchestration.instance"
CONTINUATION_NAME = "orchestration.instance.continued"


def continuation_id(instance_id: str, stage: int) -> str:
    """The workflow id of the continuation of an instance parked in `stage`: a stage
    parks at most once, so starting it twice runs it once."""
    return f"{instance_id}:{stage}"


class _Context:
    """The engine's `StageContext`: durable waits keyed by the instance and stage."""

    def __init__(self, instance_id: str, stage: int, started_at: datetime, *, woken: bool = False) -> None:
        self.instance_id = instance_id
        self.stage = stage
        self._started_at = started_at
        # Activities are numbered in call order: deterministic, so the same on replay.
        self._next_sequence = 0
        # The first wait of a stage may park; a continuation (woken) waits in memory,
        # so that a stage parks at most once (see `continuation_id`).
        self._may_park = not woken

    @property
    def started_at(self) -> datetime:
        return self._started_at

    async def sleep_until(self, deadline: datetime) -> None:
        park_stage = self.stage if self._take_parking() else None
        _check(await _steps.sleep_until(self.instance_id, deadline.isoformat(), park_stage))

    async def wait_event(self, name: str) -> None:
        _check(await _steps.wait_event(self.instance_id, self.stage, name, self._take_parking()))

    def _take_parking(self) -> bool:
        may_park, self._may_park = self._may_park, False
        return may_park

    async def call(self, activity: ActivityName, request: dict[str, Any]) -> Any:
        sequence, self._next_sequence = self._next_sequence, self._next_sequence + 1
        return await _retry.call_activity(self.instance_id, self.stage, sequence, activity, request)

    async def patched(self, change: str) -> bool:
        # DBOS records a marker where it is first asked, unless a step recorded before the change is there.
        return await DBOS.patch_async(change)


def _check(waited: bool | None) -> None:
    """Go on after a wait step: True, the wait is over; False, aborted; None, parked."""
    if waited is None:
        raise InstanceParked()
    if not waited:
        raise InstanceAborted()


def _stage_attributes(instance_id: str, number: int, stage: ResolvedStage) -> dict[str, str | int]:
    return {"orchestration.instance_id": instance_id, "orchestration.stage": number,
            "orchestration.stage.type": str(stage.kind)}


def _unresolved_start(number: int, raw: Any, error: str) -> StageStart:
    """The start of a stage whose configuration could not be resolved, ended with its
    error; its history shows the configuration as written, since there is no resolved one."""
    try:
        kind, body = parse_stage(raw)
    except StageDefinitionError:
        return StageStart(number, "RunUnknown", {}, config_error=error, ended=True)
    return StageStart(number, history_name(kind), body if isinstance(body, dict) else {}, error, ended=True)


# No recovery limit: an instance is recovered once per restart of its worker, and
# one waiting for months must outlive any number of deployments.
@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=None)
async def instance_workflow(instance_id: str, stages: list[Any], variables: dict[str, str]) -> None:
    """Run every stage; end the instance with the first stage error, if any."""
    await _run_stages(instance_id, stages, variables)


@DBOS.workflow(name=CONTINUATION_NAME, max_recovery_attempts=None)
async def continued_instance_workflow(
    instance_id: str, stages: list[Any], variables: dict[str, str], stage: int, started_at: str
) -> None:
    """The rest of an instance parked in `stage` (started at `started_at`), once its wait is over."""
    await _run_stages(instance_id, stages, variables, woken=(stage, started_at))


async def _run_stages(
    instance_id: str, stages: list[Any], variables: dict[str, str], woken: tuple[int, str] | None = None
) -> None:
    """Run the stages in order: from the first, or in a continuation from `woken =
    (stage, its start time)`, the stage that parked and whose wait is over."""
    first = woken[0] if woken else 0
    finished: StageEnd | None = None
    running: int | None = None
    error: str | None = None
    try:
        for number, raw in enumerate(stages[first:], start=first):
            try:
                kind, body = parse_stage(raw)
                earlier = as_read_before_options(kind, body)
                if earlier is not None and not await DBOS.patch_async(OPTIONS_PATCH):
                    body = earlier  # recorded before the newest send options: replayed as it ran
                resolved = resolve_stage(kind, body, variables)
            except (StageDefinitionError, StageConfigError) as exc:
                # Q-24 fixed: the stage gets a row and a history entry carrying its error.
                error = str(exc)
                start = _unresolved_start(number, raw, error)
                await _steps.advance(instance_id, finish=finished, start=start, terminate=True, error=error)
                # Workflow code: a replay after a crash logs this line again, which is harmless.
                log.warning("instance %s stage %d failed: %s", instance_id, number, error,
                            extra={"instance_id": instance_id, "stage": number})
                return
            started: str | None
            if woken is not None and number == first:
                started, resuming = woken[1], True  # started by the workflow that parked
            else:
                resuming = False
                instant = resolved.instant
                last = number == len(stages) - 1
                started = await _steps.advance(
                    instance_id,
                    finish=finished,
                    start=StageStart(number, resolved.history_name, resolved.history_input, ended=instant),
                    terminate=instant and last,
                    error=None,
                )
                if started is None:
                    return  # aborted between two stages
                if instant:  # already recorded as ended, with the instance if it was the last stage
                    if last:
                        return
                    finished = None
                    continue
            running = number
            context = _Context(instance_id, number, datetime.fromisoformat(started), woken=resuming)
            try:
                with traces.span(f"stage {number} {resolved.kind}", _stage_attributes(instance_id, number, resolved),
                                 quiet=(InstanceParked,)):
                    await run_stage(context, resolved)
            except StageFailure as exc:
                error = exc.message
                finished, running = StageEnd(number, error), None
                log.warning("instance %s stage %d failed: %s", instance_id, number, error,
                            extra={"instance_id": instance_id, "stage": number})
                break
            finished, running = StageEnd(number), None
    except (InstanceAborted, InstanceParked):
        return
    except Exception as exc:  # a bug must still end the instance visibly, never leave it running
        if _runtime.current().stopping:
            raise  # interrupted by the shutdown, not failed: it resumes on the next start
        log.exception("instance %s failed unexpectedly", instance_id)
        error = f"internal error: {exc}"
        if running is not None:
            finished = StageEnd(running, error)
    await _steps.advance(instance_id, finish=finished, start=None, terminate=True, error=error)
