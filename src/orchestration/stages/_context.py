"""What a stage may use of the world while it runs (STYLE R3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from orchestration.stack import ActivityName


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

    async def call(self, activity: ActivityName, request: dict[str, Any]) -> Any:
        """Run one activity of the catalogue (`CreateTransaction`, `GetWallet`, ...) durably.

        `request` is the activity's input as stage history shows it (spec §7.3); the result
        is its output as §7.3 shows it, or None for the activities that return nothing.
        Retries are the engine's business; what reaches the stage is the final outcome:
        a result, or `ActivityFailed`. Each call gets its own idempotency key, the same on
        every retry and after a crash.
        """

    async def patched(self, change: str) -> bool:
        """Whether this run takes the code path of `change` (a name, never reused).

        False only for an instance whose recorded history was made before `change` existed
        and passes where the change is asked about: it must go on as it started. Asked at the
        same place on every replay, the answer never changes for an instance.
        """
