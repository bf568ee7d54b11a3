"""One attempt of an activity as a durable step, recorded for stage history (§10.2).

The HTTP call carries an idempotency key made of the instance, the stage and the
activity's position: if the process dies after the call but before DBOS records
the step, the step runs again and the Ledger/Wallets answer with what they already
did instead of moving money twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestration import storage
from orchestration.observability import metrics, traces
from orchestration.stack import ACTIVITIES, ActivityKey, ActivityName, StackError

from . import _runtime
from ._steps import durable_step, riding_out_trouble

log = logging.getLogger(__name__)

NO_STACK = "no Formance stack is configured (--stack-url)"


@dataclass(frozen=True)
class AttemptError:
    """Why an attempt failed: the remote's error code and message."""

    code: str
    message: str


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt of an activity came to."""

    output: Any = None
    """The activity's output, when it succeeded (None for the activities that return nothing)."""
    error: AttemptError | None = None
    """Set when it failed."""
    next_execution: datetime | None = None
    """When it failed and will be tried again: when. None with an error: it failed for good."""
    aborted: bool = False
    """The instance was aborted before the call: nothing was sent."""

    # DBOS records a step's result; the record stays a plain dict, readable whatever
    # this class becomes (instances recorded by earlier releases replay through it).
    def to_record(self) -> dict[str, Any]:
        if self.aborted:
            return {"aborted": True}
        if self.error is None:
            return {"output": self.output}
        return {
            "error": {"code": self.error.code, "message": self.error.message},
            "final": self.next_execution is None,
            "next_execution": self.next_execution.isoformat() if self.next_execution else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AttemptOutcome:
        if record.get("aborted"):
            return cls(aborted=True)
        if "output" in record:
            return cls(output=record["output"])
        error = AttemptError(record["error"]["code"], record["error"]["message"])
        next_execution = None if record["final"] else datetime.fromisoformat(record["next_execution"])
        return cls(error=error, next_execution=next_execution)


async def attempt(
    instance_id: str,
    stage: int,
    sequence: int,
    activity: ActivityName,
    request: dict[str, Any],
    number: int,
    retry_in: timedelta | None,
    *,
    recorded: bool,
) -> AttemptOutcome:
    """Run attempt `number` of an activity; `retry_in`: the wait before the next attempt
    should this one fail with a retryable error (None: this is the last attempt).

    `recorded`: what the attempt came to is read from, and written to, the activity's row (a run
    of this release: a replay finds it there). Otherwise each attempt is a DBOS step, as runs of
    releases up to 0.5.0 took them and replay them: the step records it, a second time."""
    if recorded:
        return await riding_out_trouble(
            lambda: _attempt(instance_id, stage, sequence, activity, request, number, retry_in, from_row=True)
        )
    record = await attempt_activity(instance_id, stage, sequence, activity, request, number, retry_in)
    return AttemptOutcome.from_record(record)


# What escapes the step is database trouble around the call: running the attempt again
# is safe, the call carries the same idempotency key.
@durable_step("orchestration.activity_attempt")
async def attempt_activity(
    instance_id: str,
    stage: int,
    sequence: int,
    name: str,
    request: dict[str, Any],
    attempt: int,
    retry_in: timedelta | None,
) -> dict[str, Any]:
    """The step: an `AttemptOutcome` record (see `AttemptOutcome.to_record`)."""
    outcome = await _attempt(instance_id, stage, sequence, name, request, attempt, retry_in, from_row=False)
    return outcome.to_record()


async def _attempt(
    instance_id: str,
    stage: int,
    sequence: int,
    name: str,
    request: dict[str, Any],
    attempt: int,
    retry_in: timedelta | None,
    *,
    from_row: bool,
) -> AttemptOutcome:
    """One attempt, recorded in the activity's row; with `from_row`, what the row says the attempt
    came to, when it came to something already."""
    runtime = _runtime.current()
    key = ActivityKey(instance_id, stage, sequence)
    async with runtime.db.begin() as conn:
        terminated = await storage.lock_terminated(conn, instance_id)
        exists = None
        if from_row:
            row = await storage.get_activity(conn, instance_id, stage, sequence)
            came_to = recorded_outcome(row, attempt)
            if came_to is not None:
                return came_to
            exists = row is not None
        if terminated is None or terminated:
            return AttemptOutcome(aborted=True)  # aborted: no more calls to the stack
        await storage.begin_attempt(
            conn, instance_id, stage, sequence, name=name, input=request, attempt=attempt, now=_now(), exists=exists
        )
    metrics.ACTIVITY_ATTEMPTS.labels(name).inc()
    try:
        if runtime.stack is None:
            raise StackError(0, "VALIDATION", NO_STACK)
        with traces.span(name, _span_attributes(key, attempt)):
            output = await ACTIVITIES[ActivityName(name)](runtime.stack, request, key)
    except StackError as exc:
        metrics.ACTIVITY_FAILURES.labels(name, exc.code).inc()
        outcome, written = await _record_failure(runtime, key, name, attempt, exc, retry_in)
    else:
        async with runtime.db.begin() as conn:
            written = await storage.finish_activity(
                conn, instance_id, stage, sequence, now=_now(), attempt=attempt, output=output
            )
        outcome = AttemptOutcome(output=output)
    if written or not from_row:
        return outcome
    # The row was past this attempt: the instance aborted, or another execution of the run (one that
    # took it over from this, only slow) recorded the attempt first. The row is the record, which a
    # replay reads: this execution goes on as that one did.
    async with runtime.db.read() as conn:
        row = await storage.get_activity(conn, instance_id, stage, sequence)
    return recorded_outcome(row, attempt) or outcome


def recorded_outcome(row: storage.ActivityRow | None, attempt: int) -> AttemptOutcome | None:
    """What attempt number `attempt` came to, as the activity's row records it; None when it has
    not come to anything yet (not begun, or begun and interrupted: it runs, again)."""
    if row is None:
        return None
    if row.attempt > attempt:
        # It failed, to be tried again: the row is the next attempt's now, due at `next_execution` (or
        # begun, or ended, after a wait a step recorded). The failure is not read: only the last is kept.
        failure = AttemptError(row.error_code or "", row.last_failure or "")
        return AttemptOutcome(error=failure, next_execution=row.next_execution or row.started_at)
    if row.terminated_at is None:
        return None  # this attempt is the latest: not begun, or interrupted
    if row.error == storage.CANCELLED and row.error_code is None:
        return AttemptOutcome(aborted=True)
    if row.error is None:
        return AttemptOutcome(output=row.output)
    return AttemptOutcome(error=AttemptError(row.error_code or "", row.error))


async def _record_failure(
    runtime: _runtime.Runtime,
    key: ActivityKey,
    name: str,
    attempt: int,
    exc: StackError,
    retry_in: timedelta | None,
) -> tuple[AttemptOutcome, bool]:
    """The failed attempt's outcome, and whether the row took it (see `finish_activity`)."""
    now = _now()
    next_execution = now + retry_in if exc.retryable and retry_in is not None else None
    async with runtime.db.begin() as conn:
        if next_execution is None:
            written = await storage.finish_activity(
                conn, key.instance_id, key.stage, key.sequence, now=now, attempt=attempt, error=exc.message,
                error_code=exc.code,
            )
        else:
            written = await storage.schedule_retry(
                conn, key.instance_id, key.stage, key.sequence,
                attempt=attempt + 1, last_failure=exc.message, next_execution=next_execution, error_code=exc.code,
            )
    if next_execution is None:
        log.warning(
            "instance %s stage %d: %s failed for good at attempt %d: %s",
            key.instance_id, key.stage, name, attempt, exc,
            extra={"instance_id": key.instance_id, "stage": key.stage},
        )
    else:
        log.warning(
            "instance %s stage %d: %s attempt %d failed, next attempt at %s: %s",
            key.instance_id, key.stage, name, attempt, next_execution.isoformat(), exc,
            extra={"instance_id": key.instance_id, "stage": key.stage},
        )
    return AttemptOutcome(error=AttemptError(exc.code, exc.message), next_execution=next_execution), written


def _span_attributes(key: ActivityKey, attempt: int) -> dict[str, str | int]:
    return {
        "orchestration.instance_id": key.instance_id,
        "orchestration.stage": key.stage,
        "orchestration.activity.attempt": attempt,
        # What the Ledger and Wallets see of this call, to find it on their side.
        "orchestration.idempotency_key": key.idempotency_key,
    }


def _now() -> datetime:
    return datetime.now(UTC)
