"""One attempt of an activity as a durable step, recorded for stage history (§10.2).

The HTTP call carries an idempotency key made of the instance, the stage and the
activity's position: if the process dies after the call but before DBOS records
the step, the step runs again and the Ledger/Wallets answer with what they already
did instead of moving money twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orchestration import storage
from orchestration.stack import ACTIVITIES, ActivityKey, StackError

from . import _runtime
from ._steps import durable_step

NO_STACK = "no Formance stack is configured (--stack-url)"


# What escapes the step is database trouble around the call: running the attempt again
# is safe, the call carries the same idempotency key.
@durable_step("orchestration.activity_attempt")
async def attempt_activity(
    instance_id: str, stage: int, sequence: int, name: str, request: dict[str, Any], attempt: int
) -> dict[str, Any]:
    """Run attempt number `attempt`; returns `{"output": ...}`, `{"aborted": True}` or
    `{"error": {"code", "message"}, "final": bool, "next_execution": iso | None}`."""
    runtime = _runtime.current()
    key = ActivityKey(instance_id, stage, sequence)
    async with runtime.db.begin() as conn:
        instance = await storage.lock_instance(conn, instance_id)
        if instance is None or instance.terminated:
            return {"aborted": True}  # aborted: no more calls to the stack
        await storage.begin_attempt(
            conn, instance_id, stage, sequence, name=name, input=request, attempt=attempt, now=_now()
        )
    try:
        if runtime.stack is None:
            raise StackError(0, "VALIDATION", NO_STACK)
        output = await ACTIVITIES[name](runtime.stack, request, key)
    except StackError as exc:
        return await _record_failure(runtime, key, attempt, exc)
    async with runtime.db.begin() as conn:
        await storage.finish_activity(conn, instance_id, stage, sequence, now=_now(), attempt=attempt, output=output)
    return {"output": output}


async def _record_failure(runtime: _runtime.Runtime, key: ActivityKey, attempt: int, exc: StackError) -> dict[str, Any]:
    final = not exc.retryable or runtime.retry.gives_up_after(attempt)
    now = _now()
    next_execution = None if final else now + runtime.retry.delay_after(attempt)
    async with runtime.db.begin() as conn:
        if next_execution is None:
            await storage.finish_activity(
                conn, key.instance_id, key.stage, key.sequence, now=now, attempt=attempt, error=exc.message
            )
        else:
            await storage.schedule_retry(
                conn, key.instance_id, key.stage, key.sequence,
                attempt=attempt + 1, last_failure=exc.message, next_execution=next_execution,
            )
    return {
        "error": {"code": exc.code, "message": exc.message},
        "final": final,
        "next_execution": next_execution.isoformat() if next_execution else None,
    }


def _now() -> datetime:
    return datetime.now(UTC)
