"""The `noop` stage (spec §6.1): does nothing and succeeds at once."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.stages._context import StageContext


@dataclass(frozen=True, kw_only=True)
class NoopConfig:
    """No settings: any object (or `null`) is accepted and its keys are ignored."""


CONFIG = NoopConfig

INSTANT = True
"""Nothing durable happens and nothing can fail: the engine records the stage started
and ended at once, in one write."""


async def run(ctx: StageContext, cfg: NoopConfig) -> None:
    """Succeed immediately."""
