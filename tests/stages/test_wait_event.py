"""The `wait_event` stage (spec §6.3): waits on the context for the interpolated event name."""

from __future__ import annotations

from orchestration.stages import resolve_stage, run_stage
from orchestration.stages.wait_event import WaitEventConfig, run
from tests.stages.fake_context import FakeContext


async def test_waits_for_the_configured_event() -> None:
    ctx = FakeContext()
    await run(ctx, WaitEventConfig(event="continue"))
    assert ctx.waits == ["continue"]
    assert ctx.sleeps == []


async def test_event_name_is_interpolated_and_kept_verbatim() -> None:
    ctx = FakeContext()
    await run_stage(ctx, resolve_stage("wait_event", {"event": "Paid:${id}"}, {"id": "42"}))
    assert ctx.waits == ["Paid:42"]  # case-sensitive, no trimming


async def test_each_run_waits_once() -> None:
    ctx = FakeContext()
    resolved = resolve_stage("wait_event", {"event": "a"}, {})
    await run_stage(ctx, resolved)
    await run_stage(ctx, resolved)
    assert ctx.waits == ["a", "a"]
