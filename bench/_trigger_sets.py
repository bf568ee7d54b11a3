"""What the trigger benchmark registers and publishes: the events of each measure, the
triggers they are evaluated against, and a check that each filter does what its measure
needs (a filter that fails to evaluate also "does not match", but costs and logs otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ._bus import envelope
from ._client import BenchClient
from ._datadir import DataDirReader
from ._harness import bounded

NOOP_WORKFLOW = {"name": "bench trigger three noops", "stages": [{"noop": {}}, {"noop": {}}, {"noop": {}}]}
REGISTER_IN_FLIGHT = 8  # registration requests at a time (registering is not measured)
OTHER_TYPES = ("REVERTED_TRANSACTION", "SAVED_METADATA", "DELETED_METADATA", "SAVED_ACCOUNT", "SAVED_POOL")
"""Event types never published here: their triggers are registered, never loaded by dispatch."""


@dataclass(frozen=True)
class TriggerSet:
    """The triggers of one measure, and what a published event does with them."""

    published_type: str
    triggers: list[dict[str, Any]]  # POST /v2/triggers bodies, without their workflowID
    payload: Callable[[int], dict[str, Any]]  # the payload of the event with sequence number `seq`
    matches_per_event: int  # triggers of `published_type` whose filter an event matches

    @property
    def evaluated_per_event(self) -> int:
        return sum(1 for t in self.triggers if t["event"] == self.published_type)

    def event(self, seq: int, *, run: str) -> bytes:
        # A distinct key per run and event: the server dispatches a message key once per trigger.
        return envelope(self.published_type, self.payload(seq), key=f"bench-{run}-{seq}")


def _trigger(name: str, event: str, filter_: str, variables: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "event": event, "filter": filter_}
    if variables:
        body["vars"] = variables
    return body


# ---------------------------------------------------------------- measure 1: no instance started


def committed_transactions(seq: int) -> dict[str, Any]:
    """A ledger v2 COMMITTED_TRANSACTIONS payload, distinct per `seq`."""
    return {
        "ledger": "bench",
        "transactions": [
            {
                "id": seq,
                "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "postings": [{"source": "world", "destination": f"users:{seq}", "amount": 100 + seq, "asset": "USD/2"}],
                "metadata": {"kind": "deposit", "seq": str(seq)},
                "reverted": False,
            }
        ],
        "accountMetadata": {},
    }


def no_start_set(per_kind: int = 50) -> TriggerSet:
    """2 × `per_kind` triggers on COMMITTED_TRANSACTIONS that no event of the run matches, and
    one trigger on each of `OTHER_TYPES`. The cheap test comes first in the filters of the first
    kind: `and` stops at the first false, and the point is to evaluate something."""
    on_ledger = [
        _trigger(f"ledger {k}", "COMMITTED_TRANSACTIONS", f'len(event.transactions) > 0 and event.ledger == "l{k}"')
        for k in range(per_kind)
    ]
    refunds = [
        _trigger(f"refund {k}", "COMMITTED_TRANSACTIONS", f'any(event.transactions, .metadata.kind == "refund-{k}")')
        for k in range(per_kind)
    ]
    others = [_trigger(f"on {t}", t, "true") for t in OTHER_TYPES]
    return TriggerSet("COMMITTED_TRANSACTIONS", on_ledger + refunds + others, committed_transactions, 0)


# ---------------------------------------------------------------- measure 2: one instance per event


def saved_payment(seq: int, *, buckets: int) -> dict[str, Any]:
    """A payments SAVED_PAYMENT payload; `id` is distinct per `seq`, since a trigger fires at most
    once per payment id (Q-20)."""
    return {
        "id": f"payment-{seq}",
        "reference": f"ref-{seq}",
        "provider": "DUMMY",
        "type": "PAY-IN",
        "status": "SUCCEEDED",
        "amount": 100 + seq,
        "asset": "USD/2",
        "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "bucket": seq % buckets,
        "seq": seq,
    }


def one_match_set(buckets: int = 50) -> TriggerSet:
    """`buckets` triggers on SAVED_PAYMENT, the k-th matching `event.bucket == k`, and as many on
    SAVED_ACCOUNT: 2 × `buckets` triggers, of which an event evaluates `buckets` and matches one.
    Each trigger passes the event's `seq` to its instance, which is how delays are measured."""
    payments = [
        _trigger(f"bucket {k}", "SAVED_PAYMENT", f"event.bucket == {k}", {"seq": "event.seq"}) for k in range(buckets)
    ]
    accounts = [_trigger(f"account bucket {k}", "SAVED_ACCOUNT", f"event.bucket == {k}") for k in range(buckets)]
    return TriggerSet("SAVED_PAYMENT", payments + accounts, lambda seq: saved_payment(seq, buckets=buckets), 1)


# ---------------------------------------------------------------- registering them


async def register(client: BenchClient, trigger_set: TriggerSet) -> str:
    """Create the workflow and the triggers; check every filter of the published type on one
    event's payload (POST /v2/triggers/{id}/test): evaluated without error, matching as planned.
    Returns the workflow id."""
    res = await client.post("/v2/workflows", json=NOOP_WORKFLOW)
    res.raise_for_status()
    workflow_id: str = res.json()["data"]["id"]

    async def create(body: dict[str, Any]) -> tuple[str, str]:
        created = await client.post("/v2/triggers", json={**body, "workflowID": workflow_id})
        created.raise_for_status()
        return created.json()["data"]["id"], body["event"]

    registered = await bounded(trigger_set.triggers, REGISTER_IN_FLIGHT, create)
    evaluated = [trigger_id for trigger_id, event in registered if event == trigger_set.published_type]

    async def test(trigger_id: str) -> bool:
        tested = await client.post(f"/v2/triggers/{trigger_id}/test", json=trigger_set.payload(0))
        tested.raise_for_status()
        result = tested.json()["data"]["filter"]
        if result.get("error"):
            raise RuntimeError(f"filter of trigger {trigger_id} fails: {result['error']}")
        return bool(result["match"])

    matched = sum(await bounded(evaluated, REGISTER_IN_FLIGHT, test))
    if matched != trigger_set.matches_per_event:
        raise RuntimeError(f"{matched} filters match an event, {trigger_set.matches_per_event} planned")
    return workflow_id


# ---------------------------------------------------------------- reading what the server did


def _seconds(stored: str | None) -> float | None:
    """A stored timestamp (naive UTC) as POSIX seconds."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).timestamp() if stored else None


class DispatchReader(DataDirReader):
    """What dispatch wrote, read from the server's SQLite file."""

    def occurrences(self) -> tuple[int, int]:
        """Occurrences recorded, and how many of them recorded an error instead of an instance."""
        total, failed = self._rows("SELECT count(*), count(error) FROM triggers_occurrences")[0]
        return int(total), int(failed)

    def instance_times(self) -> dict[int, tuple[float, float | None]]:
        """Per `seq` variable: the instance's createdAt and terminatedAt (None while running)."""
        rows = self._rows("SELECT variables, created_at, terminated_at FROM workflow_instances")
        times: dict[int, tuple[float, float | None]] = {}
        for variables, created, terminated in rows:
            seq = json.loads(variables).get("seq")
            created_s = _seconds(created)
            if seq is not None and created_s is not None:
                times[int(seq)] = (created_s, _seconds(terminated))
        return times

    def outbox(self) -> tuple[list[float], int, float | None]:
        """The server's own events (to publish on the bus): each published one's lag from its
        recording to its publication (s), how many wait, and when the last was published."""
        rows = self._rows("SELECT created_at, published_at FROM outbox_events")
        published = [(_seconds(created), _seconds(at)) for created, at in rows if at]
        lags = [at - created for created, at in published if at is not None and created is not None]
        last = max((at for _, at in published if at is not None), default=None)
        return lags, len(rows) - len(published), last
