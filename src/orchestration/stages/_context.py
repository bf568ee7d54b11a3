"""What a stage may use of the world while it runs (STYLE R3)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class StageFailure(Exception):
    """The stage failed; `message` becomes the stage and instance `error`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StageContext(Protocol):
    """Durable operations offered to a running stage by the engine.

    Every method is safe to call again after a crash: the engine replays
    what already happened instead of doing it twice.
    """

    instance_id: str
    stage: int

    @property
    def started_at(self) -> datetime:
        """When this stage started (UTC, recorded durably: the same on replay)."""

    async def sleep_until(self, deadline: datetime) -> None:
        """Sleep until `deadline` (UTC); returns at once if it has passed. Abort wakes it."""

    async def wait_event(self, name: str) -> None:
        """Wait until an event called `name` is sent to the instance, and consume it."""
