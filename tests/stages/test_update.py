"""The `update` stage (spec §6.4): one `AddAccountMetadata` call, with its §7.3 input."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from orchestration.stages import ActivityFailed, StageConfigError, StageFailure, resolve_stage, run_stage
from tests.stages.fake_context import FakeContext


async def update(ctx: FakeContext, raw: object, variables: Mapping[str, str] | None = None) -> None:
    await run_stage(ctx, resolve_stage("update", raw, variables or {}))


async def test_adds_metadata_on_the_main_ledger_by_default() -> None:  # §17.5 #43, Q-15
    ctx = FakeContext()
    raw = {"account": {"id": "merchant:${merchantID}", "metadata": {"formanceAccountID": "${paymentAccountID}"}}}
    await update(ctx, raw, {"merchantID": "1234", "paymentAccountID": "ABCD"})
    assert ctx.calls == [
        (
            "AddAccountMetadata",
            {"ledger": "main", "account": "merchant:1234", "metadata": {"formanceAccountID": "ABCD"}},
        )
    ]


async def test_uses_the_configured_ledger_and_keeps_keys_literal() -> None:
    ctx = FakeContext()
    raw = {"account": {"id": "a", "ledger": "${l}", "metadata": {"${k}": "x", "b": "${v}"}}}
    await update(ctx, raw, {"l": "demo", "k": "K", "v": "V"})
    assert ctx.calls == [
        ("AddAccountMetadata", {"ledger": "demo", "account": "a", "metadata": {"${k}": "x", "b": "V"}})
    ]


async def test_empty_metadata_is_still_sent() -> None:
    ctx = FakeContext()
    await update(ctx, {"account": {"id": "a", "metadata": {}}})
    assert ctx.calls == [("AddAccountMetadata", {"ledger": "main", "account": "a", "metadata": {}})]


async def test_a_refusal_fails_the_stage_with_the_ledger_message() -> None:
    refusal = ActivityFailed("AddAccountMetadata", "VALIDATION", "invalid account address")
    ctx = FakeContext(AddAccountMetadata=[refusal])
    with pytest.raises(StageFailure) as err:
        await update(ctx, {"account": {"id": "a", "metadata": {"k": "v"}}})
    assert err.value.message == "invalid account address"
    assert len(ctx.calls) == 1


async def test_missing_metadata_is_refused_before_any_call() -> None:
    with pytest.raises(StageConfigError):
        resolve_stage("update", {"account": {"id": "a"}}, {})
