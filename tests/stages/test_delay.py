"""The `delay` stage (spec §6.2): the deadline comes from the stage start, never from a clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestration.stages import resolve_stage, run_stage
from orchestration.stages.delay import DelayConfig, run
from tests.stages.fake_context import STARTED, FakeContext


async def run_delay(raw: object, variables: dict[str, str] | None = None) -> FakeContext:
    ctx = FakeContext()
    await run_stage(ctx, resolve_stage("delay", raw, variables or {}))
    return ctx


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("5s", timedelta(seconds=5)), ("1m30s", timedelta(seconds=90)), ("50ms", timedelta(milliseconds=50))],
)
async def test_duration_sleeps_from_the_stage_start(duration: str, expected: timedelta) -> None:
    ctx = await run_delay({"duration": duration})
    assert ctx.sleeps == [STARTED + expected]
    assert ctx.waits == []


async def test_duration_from_a_variable() -> None:
    ctx = await run_delay({"duration": "${d}"}, {"d": "1s"})
    assert ctx.sleeps == [STARTED + timedelta(seconds=1)]


async def test_until_in_the_future_sleeps_until_that_date() -> None:
    ctx = await run_delay({"until": "2024-05-02T13:30:00+02:00"})
    assert ctx.sleeps == [datetime(2024, 5, 2, 11, 30, 0, tzinfo=UTC)]
    ctx = await run_delay({"until": "2024-05-02T10:00:00.000001Z"})
    assert ctx.sleeps == [STARTED + timedelta(microseconds=1)]


@pytest.mark.parametrize(
    ("raw", "variables"),
    [
        ({"until": "2020-01-01T00:00:00Z"}, {}),  # in the past
        ({"until": "2024-05-02T10:00:00Z"}, {}),  # exactly the stage start
        ({"until": "${u}"}, {}),  # the zero date
        ({"duration": "${d}"}, {}),  # zero duration
        ({"duration": "0"}, {}),
        ({"duration": "-5s"}, {}),
    ],
)
async def test_nothing_to_wait_for_returns_without_sleeping(raw: object, variables: dict[str, str]) -> None:
    ctx = await run_delay(raw, variables)
    assert ctx.sleeps == []


async def test_run_uses_only_the_context_start_time() -> None:
    # Replay safety: the same config and start time always give the same deadline.
    config = DelayConfig(duration=timedelta(hours=1), until=None)
    first, second = FakeContext(), FakeContext()
    await run(first, config)
    await run(second, config)
    assert first.sleeps == second.sleeps == [STARTED + timedelta(hours=1)]
