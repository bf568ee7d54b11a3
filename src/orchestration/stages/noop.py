"""The `noop` stage (spec §6.1): does nothing and succeeds at once."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.stages._context import StageContext
from orchestration.stages._type import StageType


@dataclass(frozen=True, kw_only=True)
class NoopConfig:
    """No settings: any object (or `null`) is accepted and its keys are ignored."""


async def run(ctx: StageContext, cfg: NoopConfig) -> None:
    """Succeed immediately."""


STAGE = StageType(NoopConfig, run, instant=True)
