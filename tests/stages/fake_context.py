"""A `StageContext` for unit tests of stages: it records what the stage asks of the world."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from orchestration.stages import ActivityFailed

STARTED = datetime(2024, 5, 2, 10, 0, 0, tzinfo=UTC)
# Calls that change something answer nothing (204), as the stack does.
_WRITES_WITHOUT_ANSWER = (
    "AddAccountMetadata", "CreditWallet", "DebitWallet", "StripeTransfer", "CreateTransferInitiation",
)


def transaction(tx_id: int) -> dict[str, object]:
    """The CreateTransaction output (§7.3) for a transaction with this id."""
    return {"data": [{"id": tx_id, "txid": tx_id, "metadata": {}, "postings": [], "reverted": False}]}


class FakeContext:
    """Records sleeps, event waits and `(activity, request)` calls.

    Calls are answered from `script` (per activity, in order); a scripted `ActivityFailed` is
    raised instead. Unscripted writes answer as the stack does (CreateTransaction: a transaction
    with the next id); an unscripted read is a test bug.
    """

    instance_id = "instance"
    stage = 0

    def __init__(
        self, *, started_at: datetime = STARTED, unpatched: Sequence[str] = (), **script: Sequence[object]
    ) -> None:
        """`unpatched`: the changes this "recorded" run was made before (`patched` answers False)."""
        self._started_at = started_at
        self.unpatched = set(unpatched)
        self.patches: list[str] = []
        self.sleeps: list[datetime] = []
        self.waits: list[str] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._script = {activity: list(answers) for activity, answers in script.items()}
        self._next_tx = 0

    @property
    def started_at(self) -> datetime:
        return self._started_at

    async def sleep_until(self, deadline: datetime) -> None:
        self.sleeps.append(deadline)

    async def wait_event(self, name: str) -> None:
        self.waits.append(name)

    async def call(self, activity: str, request: dict[str, Any]) -> Any:
        self.calls.append((activity, copy.deepcopy(request)))
        queue = self._script.get(activity)
        if queue:
            answer = queue.pop(0)
        elif activity == "CreateTransaction":
            answer = transaction(self._next_tx)
            self._next_tx += 1
        elif activity in _WRITES_WITHOUT_ANSWER:
            answer = None
        else:
            raise AssertionError(f"unscripted read {activity} {request}")
        if isinstance(answer, ActivityFailed):
            raise answer
        return answer

    async def patched(self, change: str) -> bool:
        self.patches.append(change)
        return change not in self.unpatched

    @property
    def touched_the_world(self) -> bool:
        return bool(self.sleeps or self.waits or self.calls)
