"""The activity retry policy: 2 s doubling up to 200 s, at most 15 attempts (DESIGN §3); and the
retry loop on a running engine: every attempt visible in stage history, bounded, logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from orchestration.config import RetrySettings
from orchestration.engine._retry import delay_after, next_delay
from tests.conftest import StartEngine
from tests.engine.stage_bodies import move, transactions_path
from tests.testing.engine import EngineHarness
from tests.testing.fake_stack import FakeStack
from tests.testing.waiting import assert_eventually

DEFAULT = RetrySettings()


def test_default_waits_double_and_are_capped() -> None:
    waits = [delay_after(DEFAULT, n).total_seconds() for n in range(1, 10)]
    assert waits == [2, 4, 8, 16, 32, 64, 128, 200, 200]


def test_gives_up_at_the_last_attempt_only() -> None:
    assert [n for n in range(1, 20) if next_delay(DEFAULT, n) is None][0] == 15
    assert next_delay(DEFAULT, 14) == timedelta(seconds=200)


def test_a_full_run_of_retries_is_bounded_in_time() -> None:
    total = sum((delay_after(DEFAULT, n) for n in range(1, DEFAULT.max_attempts)), timedelta())
    assert total < timedelta(minutes=40)  # nothing retries forever


def test_the_policy_follows_its_settings() -> None:
    fast = RetrySettings(max_attempts=3, initial_interval=timedelta(milliseconds=50), max_interval=timedelta(seconds=1))
    assert [next_delay(fast, n) for n in (1, 2, 3)] == [timedelta(milliseconds=50), timedelta(milliseconds=100), None]


# -- the loop, on a running engine: attempts are visible in stage history, bounded, logged --

ATTEMPT_LOG = "orchestration.engine._activity_steps"
INSTANCE_LOG = "orchestration.engine._instance_workflow"


def _warnings(caplog: pytest.LogCaptureFixture, logger: str, instance_id: str) -> list[str]:
    return [
        r.getMessage() for r in caplog.records
        if r.name == logger and r.levelno == logging.WARNING and instance_id in r.getMessage()
    ]


async def test_a_transient_failure_is_retried_with_the_same_key_and_posts_once(
    money_engine: EngineHarness, fake_stack: FakeStack, ledger: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="orchestration.engine")
    fake_stack.fail_next("POST", transactions_path(ledger), times=2, status=503, message="ledger restarting")
    instance_id = await money_engine.run([move("world", "bank", ledger)])
    done = await money_engine.wait_terminated(instance_id)
    assert done.instance.error is None
    calls = fake_stack.requests("POST", transactions_path(ledger))
    assert [c.status for c in calls] == [503, 503, 200]
    assert {c.idempotency_key for c in calls} == {f"{instance_id}-0-0"}
    assert len(fake_stack.transactions(ledger)) == 1
    [activity] = await money_engine.activities(instance_id, 0)
    assert activity.attempt == 3 and activity.error is None and activity.terminated_at is not None
    assert activity.last_failure is None and activity.next_execution is None
    failed = _warnings(caplog, ATTEMPT_LOG, instance_id)
    assert [("attempt 1 failed" in m, "attempt 2 failed" in m) for m in failed] == [(True, False), (False, True)]
    assert all("ledger restarting" in m and "next attempt at" in m for m in failed)
    assert _warnings(caplog, INSTANCE_LOG, instance_id) == []


async def test_retries_are_bounded_and_the_stage_fails_with_the_last_message(
    money_engine: EngineHarness, fake_stack: FakeStack, ledger: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="orchestration.engine")
    attempts = money_engine.settings.retry.max_attempts
    fake_stack.fail_next("POST", transactions_path(ledger), times=None, status=503, message="ledger is down")
    instance_id = await money_engine.run([move("world", "bank", ledger), {"noop": {}}])
    done = await money_engine.wait_terminated(instance_id)
    fake_stack.clear_faults()
    assert done.instance.error == "ledger is down"
    assert [(s.stage, s.error) for s in done.stages or []] == [(0, "ledger is down")]  # the noop never ran
    assert len(fake_stack.requests("POST", transactions_path(ledger))) == attempts
    [activity] = await money_engine.activities(instance_id, 0)
    assert (activity.attempt, activity.error, activity.next_execution) == (attempts, "ledger is down", None)
    await money_engine.wait_workflow(instance_id, "SUCCESS")  # it logs the stage once the instance has ended
    failed = _warnings(caplog, ATTEMPT_LOG, instance_id)
    assert [f"attempt {n} failed, next attempt at" in m for n, m in enumerate(failed, 1)] == [True] * (attempts - 1) + [
        False
    ]
    assert f"failed for good at attempt {attempts}" in failed[-1]
    assert _warnings(caplog, INSTANCE_LOG, instance_id) == [f"instance {instance_id} stage 0 failed: ledger is down"]


async def test_an_error_that_cannot_be_retried_fails_the_stage_at_once(
    money_engine: EngineHarness, fake_stack: FakeStack, ledger: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="orchestration.engine")
    instance_id = await money_engine.run([move("empty:account", "bank", ledger)])
    done = await money_engine.wait_terminated(instance_id)
    assert done.instance.error is not None and "insufficient funds" in done.instance.error
    assert len(fake_stack.requests("POST", transactions_path(ledger))) == 1
    [activity] = await money_engine.activities(instance_id, 0)
    assert (activity.attempt, activity.error) == (1, done.instance.error)
    [failed] = _warnings(caplog, ATTEMPT_LOG, instance_id)
    assert "failed for good at attempt 1" in failed


async def test_an_attempt_waiting_its_turn_shows_in_stage_history(
    start_engine: StartEngine, fake_stack: FakeStack, ledger: str
) -> None:
    slow = RetrySettings(max_attempts=3, initial_interval=timedelta(hours=1), max_interval=timedelta(hours=1))
    engine = await start_engine(stack_url=fake_stack.url, retry=slow)
    fake_stack.fail_next("POST", transactions_path(ledger), times=1, status=503, message="first try failed")
    started = datetime.now(UTC)
    instance_id = await engine.run([move("world", "bank", ledger)])
    [pending] = await assert_eventually(
        lambda: engine.activities(instance_id, 0),
        lambda found: bool(found) and found[0].last_failure is not None,
        what="the first attempt to fail",
    )
    assert pending.attempt == 2 and pending.last_failure == "first try failed" and pending.terminated_at is None
    assert pending.next_execution is not None and pending.next_execution >= started + slow.initial_interval
    assert pending.output is None and pending.error is None
    await engine.instances.abort(instance_id)


async def test_a_call_that_times_out_is_retried_and_posts_once(
    start_engine: StartEngine, fake_stack: FakeStack, ledger: str
) -> None:
    # The Ledger answers after the client gave up: it did post, and the retry, with the
    # same key, must not post again.
    engine = await start_engine(stack_url=fake_stack.url, stack_timeout=timedelta(milliseconds=500))
    fake_stack.hang_next("POST", transactions_path(ledger), seconds=1)
    done = await engine.wait_terminated(await engine.run([move("world", "bank", ledger)]))
    assert done.instance.error is None
    assert len(fake_stack.transactions(ledger)) == 1 and fake_stack.balance(ledger, "bank", "USD/2") == 100
    calls = fake_stack.requests("POST", transactions_path(ledger))
    assert len(calls) == 2 and calls[0].idempotency_key == calls[1].idempotency_key
    [activity] = await engine.activities(done.instance.id, 0)
    assert activity.attempt == 2
