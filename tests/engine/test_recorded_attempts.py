"""The attempts of a run's activities are recorded in their activity's row, not as engine steps: a
replay reads what each attempt came to there and calls the stack only for an attempt that came to
nothing (interrupted), with the same idempotency key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dbos import DBOS

from orchestration import storage
from orchestration.engine import _activity_steps
from orchestration.engine._activity_steps import AttemptError, AttemptOutcome, recorded_outcome
from orchestration.stack import ActivityName
from tests.conftest import StartEngine
from tests.engine.stage_bodies import move, transactions_path
from tests.testing.fake_stack import FakeStack
from tests.testing.waiting import assert_eventually

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LATER = T0 + timedelta(seconds=30)


def _row(**changes: object) -> storage.ActivityRow:
    fields: dict[str, object] = {
        "instance_id": "i", "stage": 0, "sequence": 0, "name": "CreateTransaction", "input": {}, "output": None,
        "error": None, "started_at": T0, "terminated_at": None, "attempt": 1, "last_failure": None,
        "next_execution": T0, "error_code": None,
    }
    return storage.ActivityRow(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("row", "attempt", "came_to"),
    [
        (None, 1, None),  # not begun
        (_row(), 1, None),  # begun and interrupted: it runs again
        (_row(terminated_at=LATER, output={"id": 7}), 1, AttemptOutcome(output={"id": 7})),
        (
            _row(terminated_at=LATER, error="not enough", error_code="INSUFFICIENT_FUND"),
            1,
            AttemptOutcome(error=AttemptError("INSUFFICIENT_FUND", "not enough")),
        ),
        (  # failed, and the next attempt is due at LATER
            _row(attempt=2, last_failure="down", error_code="INTERNAL", next_execution=LATER),
            1,
            AttemptOutcome(error=AttemptError("INTERNAL", "down"), next_execution=LATER),
        ),
        (_row(attempt=2, last_failure="down", error_code="INTERNAL", next_execution=LATER), 2, None),
        (  # an earlier attempt of one that succeeded later failed, to be tried again
            _row(attempt=3, terminated_at=LATER, output={"id": 7}),
            2,
            AttemptOutcome(error=AttemptError("", ""), next_execution=T0),
        ),
        # The instance was aborted.
        (_row(terminated_at=LATER, error=storage.CANCELLED), 1, AttemptOutcome(aborted=True)),
        (  # a failure whose message happens to read "cancelled" is a failure
            _row(terminated_at=LATER, error=storage.CANCELLED, error_code="VALIDATION"),
            1,
            AttemptOutcome(error=AttemptError("VALIDATION", storage.CANCELLED)),
        ),
    ],
)
def test_what_an_attempt_came_to_is_read_from_its_row(
    row: storage.ActivityRow | None, attempt: int, came_to: AttemptOutcome | None
) -> None:
    assert recorded_outcome(row, attempt) == came_to


async def test_a_replay_reads_each_attempt_from_its_row_and_calls_nothing_again(
    start_engine: StartEngine, fake_stack: FakeStack, ledger: str
) -> None:
    # The wait is held in memory by the workflow, which a restart replays from its first stage.
    engine = await start_engine(stack_url=fake_stack.url, park_after=timedelta(hours=1))
    fake_stack.fail_next("POST", transactions_path(ledger), times=1, status=503, message="ledger restarting")
    instance_id = await engine.run([move("world", "bank", ledger), {"wait_event": {"event": "go"}}])
    await engine.wait_stage(instance_id, 1)
    await engine.restart()
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None
    calls = fake_stack.requests("POST", transactions_path(ledger))
    assert [c.status for c in calls] == [503, 200]  # the failed attempt and the posting, once each
    assert len(fake_stack.transactions(ledger)) == 1
    [activity] = await engine.activities(instance_id, 0)
    assert activity.attempt == 2 and activity.error is None and activity.error_code is None


async def test_a_run_takes_no_engine_step_for_its_attempts(
    start_engine: StartEngine, fake_stack: FakeStack, ledger: str
) -> None:
    engine = await start_engine(stack_url=fake_stack.url)
    fake_stack.fail_next("POST", transactions_path(ledger), times=1, status=503, message="ledger restarting")
    instance_id = await engine.run([{"delay": {"duration": "1ms"}}, move("world", "bank", ledger)])
    assert (await engine.wait_terminated(instance_id)).instance.error is None
    steps = [step["function_name"] for step in await DBOS.list_workflow_steps_async(instance_id)]
    assert steps and not [name for name in steps if "activity" in name], steps


async def test_an_attempt_another_execution_recorded_first_goes_on_as_the_row_says(
    start_engine: StartEngine, fake_stack: FakeStack, ledger: str
) -> None:
    # While this execution's call is in flight, another (a takeover of this one, only slow) fails
    # attempt 1 and schedules attempt 2: this one's success is not written, and it goes on to attempt 2.
    engine = await start_engine(stack_url=fake_stack.url)
    hold = fake_stack.hold("POST", transactions_path(ledger))
    instance_id = await engine.run([move("world", "bank", ledger)])
    await assert_eventually(lambda: hold.arrived, bool, what="the ledger call")
    async with engine.db.begin() as conn:
        assert await storage.schedule_retry(
            conn, instance_id, 0, 0, attempt=2, last_failure="down", next_execution=datetime.now(UTC),
            error_code="INTERNAL",
        )
    hold.release()
    assert (await engine.wait_terminated(instance_id)).instance.error is None
    [activity] = await engine.activities(instance_id, 0)
    assert activity.attempt == 2 and activity.output is not None
    assert len(fake_stack.requests("POST", transactions_path(ledger))) == 2  # the same key: one posting
    assert len(fake_stack.transactions(ledger)) == 1


@pytest.mark.parametrize("ended", ["aborted", "unknown"])
async def test_an_attempt_of_an_ended_instance_calls_nothing(
    start_engine: StartEngine, fake_stack: FakeStack, ledger: str, ended: str
) -> None:
    # The race this closes: an abort that lands after the stage started and before its call.
    engine = await start_engine(stack_url=fake_stack.url)
    instance_id = await engine.run([{"wait_event": {"event": "go"}}])
    if ended == "aborted":
        await engine.instances.abort(instance_id)
    else:
        instance_id = "no-such-instance"
    posting = {"amount": 1, "asset": "USD/2", "destination": "b", "source": "a"}
    request = {"Ledger": ledger, "Data": {"postings": [posting]}}
    outcome = await _activity_steps.attempt(
        instance_id, 0, 0, ActivityName.CREATE_TRANSACTION, request, 1, None, recorded=True
    )
    assert outcome == AttemptOutcome(aborted=True)
    assert fake_stack.requests("POST", transactions_path(ledger)) == []
    assert await engine.activities(instance_id, 0) == []
