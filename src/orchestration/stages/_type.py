"""What a stage type declares: its configuration and how it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from orchestration.stages._context import StageContext

C = TypeVar("C")


@dataclass(frozen=True)
class StageType(Generic[C]):
    """One stage type: each stage module exports one as `STAGE`."""

    config: type[C]
    """The configuration dataclass, resolved from the definition and the run variables."""
    run: Callable[[StageContext, C], Awaitable[None]]
    """Runs the stage; raises `StageFailure` when it fails."""
    instant: bool = False
    """Nothing durable happens and nothing can fail: the engine records the stage started
    and ended at once, in one write."""


AnyStageType = StageType[Any]
