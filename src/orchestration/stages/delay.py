"""The `delay` stage (spec §6.2): a durable sleep for a duration or until a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from orchestration.stages import _schema as schema
from orchestration.stages._context import StageContext
from orchestration.stages._type import StageType


@dataclass(frozen=True, kw_only=True)
class DelayConfig:
    """`{"duration": "1m30s"}` or `{"until": "2024-12-31T23:00:00Z"}` (exactly one, checked at start)."""

    ONE_OF: ClassVar[tuple[str, ...]] = ("duration", "until")

    duration: timedelta | None = schema.duration("Duration", optional=True, omit_empty=True)
    until: datetime | None = schema.timestamp("Until", optional=True, omit_empty=True)



def deadline(cfg: DelayConfig, started_at: datetime) -> datetime | None:
    """When the delay ends, or None when it is already over at `started_at`.

    Args:
        cfg: a validated config.
        started_at: when the stage started (the stage's "now", identical on replay).

    Returns:
        The deadline, or None when there is nothing to wait for: a zero or negative duration,
        or an `until` that is not after the stage start (Q-34; `"${x}"` undefined gives the
        zero duration or the zero date, Q-30).
    """
    if cfg.duration is not None:
        end = started_at + cfg.duration
    elif cfg.until is not None:
        end = cfg.until
    else:
        return None
    return end if end > started_at else None


async def run(ctx: StageContext, cfg: DelayConfig) -> None:
    """Sleep durably until the deadline computed from the stage start."""
    end = deadline(cfg, ctx.started_at)
    if end is not None:
        await ctx.sleep_until(end)


STAGE = StageType(DelayConfig, run)
