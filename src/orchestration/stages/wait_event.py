"""The `wait_event` stage (spec §6.3): wait for an event sent to the instance."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.stages import _schema as schema
from orchestration.stages._context import StageContext
from orchestration.stages._type import StageType


@dataclass(frozen=True, kw_only=True)
class WaitEventConfig:
    """`{"event": "<name>"}`; the name is interpolated and required at stage start."""

    event: str = schema.string("Event", required=True)



async def run(ctx: StageContext, cfg: WaitEventConfig) -> None:
    """Wait until an event with exactly this name (case-sensitive) arrives, and consume it."""
    await ctx.wait_event(cfg.event)


STAGE = StageType(WaitEventConfig, run)
