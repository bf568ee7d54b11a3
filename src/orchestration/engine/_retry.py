"""How activities are retried (DESIGN §3): the policy and the loop in one place.

Bounded: at most `max_attempts`, waiting `initial_interval` after the first failure and
doubling up to `max_interval`. Whether an error may be retried at all is decided where
it is born (`StackError.retryable`, STYLE R5); this module only counts and waits.

`call_activity` is workflow code: its only contact with the world is through steps,
each attempt one, and the wait between attempts a durable sleep that an abort ends.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestration.config import RetrySettings
from orchestration.stack import ActivityName
from orchestration.stages import ActivityFailed

from . import _activity_steps, _runtime, _steps
from ._interrupts import InstanceAborted


def delay_after(policy: RetrySettings, attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based): doubling, capped."""
    grown: timedelta = policy.initial_interval * (2 ** (attempt - 1))
    return min(grown, policy.max_interval)


def next_delay(policy: RetrySettings, attempt: int) -> timedelta | None:
    """The wait before the attempt after `attempt` if it fails, None when it is the last."""
    return None if attempt >= policy.max_attempts else delay_after(policy, attempt)


async def call_activity(
    instance_id: str, stage: int, sequence: int, activity: ActivityName, request: Any, *, recorded: bool
) -> Any:
    """Run an activity until it succeeds, fails for good, or the instance is aborted; `recorded`:
    its attempts are recorded in its row, not as steps (see `_activity_steps.attempt`).

    Returns the activity's output; raises `ActivityFailed` or `InstanceAborted`.
    """
    attempt = 1
    while True:
        # Read at each attempt, not recorded: a restart with other settings applies them
        # to the attempts still to come.
        retry_in = next_delay(_runtime.current().retry, attempt)
        outcome = await _activity_steps.attempt(
            instance_id, stage, sequence, activity, request, attempt, retry_in, recorded=recorded
        )
        if outcome.aborted:
            raise InstanceAborted()
        if outcome.error is None:
            return outcome.output
        if outcome.next_execution is None:
            raise ActivityFailed(activity, outcome.error.code, outcome.error.message)
        if not await _steps.sleep_until(instance_id, outcome.next_execution.isoformat()):
            raise InstanceAborted()
        attempt += 1
