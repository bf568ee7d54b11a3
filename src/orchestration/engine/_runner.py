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

from orchestration.stages import (
    ActivityFailed,
    StageConfigError,
    StageDefinitionError,
    StageFailure,
    history_name,
    is_instant,
    parse_stage,
    resolve_stage,
    run_stage,
)

from . import _activity_steps, _runtime, _steps

log = logging.getLogger(__name__)

WORKFLOW_NAME = "orchestration.instance"


class InstanceAborted(BaseException):
    """The instance was aborted while a stage waited; its rows are already final.

    A BaseException, so that no `except Exception` in stage code can swallow it.
    """


class _Context:
    """The engine's `StageContext`: durable waits keyed by the instance and stage."""

    def __init__(self, instance_id: str, stage: int, started_at: datetime) -> None:
        self.instance_id = instance_id
        self.stage = stage
        self._started_at = started_at
        # Activities are numbered in call order: deterministic, so the same on replay.
        self._next_sequence = 0

    @property
    def started_at(self) -> datetime:
        return self._started_at

    async def sleep_until(self, deadline: datetime) -> None:
        if not await _steps.sleep_until(self.instance_id, deadline.isoformat()):
            raise InstanceAborted()

    async def wait_event(self, name: str) -> None:
        if not await _steps.wait_event(self.instance_id, self.stage, name):
            raise InstanceAborted()

    async def call(self, activity: str, request: dict[str, Any]) -> Any:
        sequence, self._next_sequence = self._next_sequence, self._next_sequence + 1
        attempt = 1
        while True:
            outcome = await _activity_steps.attempt_activity(
                self.instance_id, self.stage, sequence, activity, request, attempt
            )
            if outcome.get("aborted"):
                raise InstanceAborted()
            if "output" in outcome:
                return outcome["output"]
            if outcome["final"]:
                raise ActivityFailed(activity, outcome["error"]["code"], outcome["error"]["message"])
            # The wait between attempts is durable and an abort cuts it short.
            if not await _steps.sleep_until(self.instance_id, outcome["next_execution"]):
                raise InstanceAborted()
            attempt += 1


def _unresolved_entry(raw: Any) -> tuple[str, dict[str, Any]]:
    """History name and input of a stage whose configuration could not be resolved:
    the configuration as written, since there is no resolved one."""
    try:
        kind, body = parse_stage(raw)
    except StageDefinitionError:
        return "RunUnknown", {}
    return history_name(kind), body if isinstance(body, dict) else {}


# No recovery limit: an instance is recovered once per restart of its worker, and
# one waiting for months must outlive any number of deployments.
@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=None)
async def instance_workflow(instance_id: str, stages: list[Any], variables: dict[str, str]) -> None:
    """Run every stage; end the instance with the first stage error, if any."""
    finished: tuple[int, str | None] | None = None
    running: int | None = None
    error: str | None = None
    try:
        for number, raw in enumerate(stages):
            try:
                kind, body = parse_stage(raw)
                resolved = resolve_stage(kind, body, variables)
            except (StageDefinitionError, StageConfigError) as exc:
                # Q-24 fixed: the stage gets a row and a history entry carrying its error.
                error = str(exc)
                name, input_ = _unresolved_entry(raw)
                await _steps.advance(
                    instance_id, finish=finished, start=(number, name, input_, error), terminate=True, error=error
                )
                return
            instant = is_instant(kind)
            last = number == len(stages) - 1
            started = await _steps.advance(
                instance_id,
                finish=finished,
                start=(number, resolved.history_name, resolved.history_input, None),
                start_ended=instant,
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
            try:
                await run_stage(_Context(instance_id, number, datetime.fromisoformat(started)), resolved)
            except StageFailure as exc:
                error = exc.message
                finished, running = (number, error), None
                break
            finished, running = (number, None), None
    except InstanceAborted:
        return
    except Exception as exc:  # a bug must still end the instance visibly, never leave it running
        if _runtime.current().stopping:
            raise  # interrupted by the shutdown, not failed: it resumes on the next start
        log.exception("instance %s failed unexpectedly", instance_id)
        error = f"internal error: {exc}"
        if running is not None:
            finished = (running, error)
    await _steps.advance(instance_id, finish=finished, start=None, terminate=True, error=error)
