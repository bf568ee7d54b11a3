"""The instance workflow: run the stages of one instance in order (spec §4.2).

This is workflow code: DBOS replays it from the top after a crash, with the
recorded results of the steps already done, so it must not touch the world
except through `_steps` (no clock, no randomness, no I/O here).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from dbos import DBOS

from orchestration.observability import traces
from orchestration.stack import ActivityName
from orchestration.stages import (
    ResolvedStage,
    StageFailure,
    run_stage,
)

from . import _retry, _runtime, _steps
from ._interrupts import InstanceAborted, InstanceParked
from ._moves import StageEnd
from ._plan import next_starts, resolve, stage_attributes

log = logging.getLogger(__name__)

WORKFLOW_NAME = "orchestration.instance.2"
CONTINUATION_NAME = "orchestration.instance.continued.2"
# What releases up to 0.3.0 started: their recorded instances replay under these names.
RECORDED_WORKFLOW_NAME = "orchestration.instance"
RECORDED_CONTINUATION_NAME = "orchestration.instance.continued"


# A delay that ends at most this long after its stage started is slept in memory, without a step:
# its deadline comes from what is recorded (the stage's start, its configuration), so a replay
# sleeps again, or not at all once it has passed, and an abort that the sleep does not hear of is
# found by the next `advance`. Whether a run takes a step must be the same at each of its replays:
# not `--park-after`, which may change between them, but this, recorded with the run as it starts.
BRIEF_SLEEP = timedelta(seconds=1)


def run_options() -> dict[str, Any]:
    """The keyword arguments of a run started now, which its replays keep: `BRIEF_SLEEP` (as
    `brief_sleep_ms`), and its activities' attempts recorded in their rows (`recorded_attempts`)."""
    return {"brief_sleep_ms": BRIEF_SLEEP // timedelta(milliseconds=1), "recorded_attempts": True}


def continuation_id(instance_id: str, stage: int) -> str:
    """The workflow id of the continuation of an instance parked in `stage`: a stage
    parks at most once, so starting it twice runs it once."""
    return f"{instance_id}:{stage}"


class _Context:
    """The engine's `StageContext`: durable waits keyed by the instance and stage."""

    def __init__(
        self, instance_id: str, stage: int, started_at: datetime, *, woken: bool = False, current: bool = True,
        brief_sleep: timedelta = timedelta(0), recorded_attempts: bool = False,
    ) -> None:
        self.instance_id = instance_id
        self.stage = stage
        self._started_at = started_at
        # False: a run recorded by an earlier release, which asks whether each change applies to it.
        self._current = current
        # Zero: a run started by a release that took a step for every sleep, and replays so.
        self._brief_sleep = brief_sleep
        # False: a run started by a release that took a step for each attempt of an activity.
        self._recorded_attempts = recorded_attempts
        # Activities are numbered in call order: deterministic, so the same on replay.
        self._next_sequence = 0
        # The first wait of a stage may park; a continuation (woken) waits in memory,
        # so that a stage parks at most once (see `continuation_id`).
        self._may_park = not woken

    @property
    def started_at(self) -> datetime:
        return self._started_at

    async def sleep_until(self, deadline: datetime) -> None:
        if deadline - self._started_at <= self._brief_sleep:
            _check(await _steps.sleep_briefly(self.instance_id, deadline))
            return
        park_stage = self.stage if self._take_parking() else None
        _check(await _steps.sleep_until(self.instance_id, deadline.isoformat(), park_stage))

    async def wait_event(self, name: str) -> None:
        _check(await _steps.wait_event(self.instance_id, self.stage, name, self._take_parking()))

    def _take_parking(self) -> bool:
        may_park, self._may_park = self._may_park, False
        return may_park

    async def call(self, activity: ActivityName, request: dict[str, Any]) -> Any:
        sequence, self._next_sequence = self._next_sequence, self._next_sequence + 1
        return await _retry.call_activity(
            self.instance_id, self.stage, sequence, activity, request, recorded=self._recorded_attempts
        )

    async def patched(self, change: str) -> bool:
        if self._current:
            return True  # a workflow of this release: every change applies
        # DBOS records a marker where it is first asked, unless a step recorded before the change is there.
        return await DBOS.patch_async(change)


def _check(waited: bool | None) -> None:
    """Go on after a wait step: True, the wait is over; False, aborted; None, parked."""
    if waited is None:
        raise InstanceParked()
    if not waited:
        raise InstanceAborted()


# No recovery limit: an instance is recovered once per restart of its worker, and
# one waiting for months must outlive any number of deployments.
@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=None)
async def instance_workflow(
    instance_id: str, stages: list[Any], variables: dict[str, str], brief_sleep_ms: int = 0,
    recorded_attempts: bool = False,
) -> None:
    """Run every stage; end the instance with the first stage error, if any.

    `brief_sleep_ms`: delays that end at most this long after their stage's start are slept
    without a step (`BRIEF_SLEEP` for every run started now). `recorded_attempts`: the attempts of
    activities are recorded in their rows, not as steps (every run started now). A run recorded by
    an earlier release has neither argument: it replays with the steps it took (`run_options`)."""
    await _run_stages(instance_id, stages, variables, current=True, brief_sleep_ms=brief_sleep_ms,
                      recorded_attempts=recorded_attempts)


@DBOS.workflow(name=CONTINUATION_NAME, max_recovery_attempts=None)
async def continued_instance_workflow(
    instance_id: str, stages: list[Any], variables: dict[str, str], stage: int, started_at: str,
    brief_sleep_ms: int = 0, recorded_attempts: bool = False,
) -> None:
    """The rest of an instance parked in `stage` (started at `started_at`), once its wait is over;
    `brief_sleep_ms` and `recorded_attempts` as `instance_workflow`'s."""
    await _run_stages(instance_id, stages, variables, woken=(stage, started_at), current=True,
                      brief_sleep_ms=brief_sleep_ms, recorded_attempts=recorded_attempts)


# The same, as releases up to 0.3.0 ran them: instances they recorded are recovered under these
# names and replay with the steps they recorded (one `advance` per stage, patches asked).
@DBOS.workflow(name=RECORDED_WORKFLOW_NAME, max_recovery_attempts=None)
async def recorded_instance_workflow(instance_id: str, stages: list[Any], variables: dict[str, str]) -> None:
    await _run_stages(instance_id, stages, variables, current=False)


@DBOS.workflow(name=RECORDED_CONTINUATION_NAME, max_recovery_attempts=None)
async def recorded_continued_instance_workflow(
    instance_id: str, stages: list[Any], variables: dict[str, str], stage: int, started_at: str
) -> None:
    await _run_stages(instance_id, stages, variables, woken=(stage, started_at), current=False)


async def _run_stages(
    instance_id: str,
    stages: list[Any],
    variables: dict[str, str],
    woken: tuple[int, str] | None = None,
    *,
    current: bool,
    brief_sleep_ms: int = 0,
    recorded_attempts: bool = False,
) -> None:
    """`_stages`, in one of this process's instance slots: waiting for one takes no step, so
    a replay waits the same way."""
    brief_sleep = timedelta(milliseconds=brief_sleep_ms)
    async with _runtime.current().instance_slots.hold(instance_id):
        await _stages(instance_id, stages, variables, woken, current=current, brief_sleep=brief_sleep,
                      recorded_attempts=recorded_attempts)


async def _stages(
    instance_id: str,
    stages: list[Any],
    variables: dict[str, str],
    woken: tuple[int, str] | None,
    *,
    current: bool,
    brief_sleep: timedelta,
    recorded_attempts: bool,
) -> None:
    """Run the stages in order: from the first, or in a continuation from `woken =
    (stage, its start time)`, the stage that parked and whose wait is over.

    Stages that do nothing durable (noop) take no step of their own: they are recorded with the
    start of the next stage to run, or with the end of the instance, in one `advance`.
    """
    first = woken[0] if woken else 0
    finished: StageEnd | None = None
    running: int | None = None
    error: str | None = None
    number = first
    try:
        while number < len(stages):
            resolved: ResolvedStage | None
            if woken is not None and number == first:
                resolved, started, resuming = await resolve(stages[number], variables, current=current), woken[1], True
            else:
                starts, resolved, error = await next_starts(stages, number, variables, current=current)
                last = starts[-1].number
                ends = error is not None or (resolved is None and last == len(stages) - 1)
                advanced = await _steps.advance(
                    instance_id, finish=finished, starts=starts, terminate=ends, error=error
                )
                if advanced is None:
                    return  # aborted between two stages
                started = advanced
                if error is not None:
                    # Workflow code: a replay after a crash logs this line again, which is harmless.
                    log.warning("instance %s stage %d failed: %s", instance_id, last, error,
                                extra={"instance_id": instance_id, "stage": last})
                    return
                if resolved is None:  # instant stages only, recorded ended (with the instance if they were the last)
                    if ends:
                        return
                    finished, number = None, last + 1
                    continue
                number, resuming = last, False
            running = number
            context = _Context(instance_id, number, datetime.fromisoformat(started), woken=resuming, current=current,
                               brief_sleep=brief_sleep, recorded_attempts=recorded_attempts)
            try:
                with traces.span(f"stage {number} {resolved.kind}", stage_attributes(instance_id, number, resolved),
                                 quiet=(InstanceParked,)):
                    await run_stage(context, resolved)
            except StageFailure as exc:
                error = exc.message
                finished, running = StageEnd(number, error), None
                log.warning("instance %s stage %d failed: %s", instance_id, number, error,
                            extra={"instance_id": instance_id, "stage": number})
                break
            finished, running = StageEnd(number), None
            number += 1
    except (InstanceAborted, InstanceParked):
        return
    except Exception as exc:  # a bug must still end the instance visibly, never leave it running
        if _runtime.current().stopping:
            raise  # interrupted by the shutdown, not failed: it resumes on the next start
        log.exception("instance %s failed unexpectedly", instance_id)
        error = f"internal error: {exc}"
        if running is not None:
            finished = StageEnd(running, error)
    await _steps.advance(instance_id, finish=finished, starts=[], terminate=True, error=error)
