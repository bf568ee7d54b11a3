"""The events this service publishes (spec §13): types, payloads, stable keys, the envelope.

Each event is recorded in the transaction of the change it reports (the outbox) and published
behind it, at least once. Its key names the change, so a step that runs twice records it once
and a consumer that receives it twice can tell: the key travels as the envelope's
`idempotency_key` and as the message id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

TOPIC = "orchestration"
"""The topic before `--publisher-topic-mapping`."""


class EventType(StrEnum):
    STARTED_WORKFLOW = "STARTED_WORKFLOW"
    SUCCEEDED_WORKFLOW = "SUCCEEDED_WORKFLOW"
    FAILED_WORKFLOW = "FAILED_WORKFLOW"
    STARTED_WORKFLOW_STAGE = "STARTED_WORKFLOW_STAGE"
    SUCCEEDED_WORKFLOW_STAGE = "SUCCEEDED_WORKFLOW_STAGE"
    FAILED_WORKFLOW_STAGE = "FAILED_WORKFLOW_STAGE"
    SUCCEEDED_TRIGGER = "SUCCEEDED_TRIGGER"
    FAILED_TRIGGER = "FAILED_TRIGGER"


@dataclass(frozen=True)
class Event:
    key: str
    type: EventType
    payload: dict[str, Any]


def workflow_started(workflow_id: str, instance_id: str) -> Event:
    return Event(f"{instance_id}/started", EventType.STARTED_WORKFLOW, {"id": workflow_id, "instanceID": instance_id})


def workflow_ended(workflow_id: str, instance_id: str, error: str | None) -> Event:
    payload = {"id": workflow_id, "instanceID": instance_id}
    if error:
        return Event(f"{instance_id}/ended", EventType.FAILED_WORKFLOW, payload | {"error": error})
    return Event(f"{instance_id}/ended", EventType.SUCCEEDED_WORKFLOW, payload)


def stage_started(workflow_id: str, instance_id: str, number: int) -> Event:
    return Event(
        f"{instance_id}/stages/{number}/started",
        EventType.STARTED_WORKFLOW_STAGE,
        {"id": workflow_id, "instanceID": instance_id, "number": number},
    )


def stage_ended(workflow_id: str, instance_id: str, number: int, error: str | None) -> Event:
    key = f"{instance_id}/stages/{number}/ended"
    payload: dict[str, Any] = {"id": workflow_id, "instanceID": instance_id, "number": number}
    if error:
        return Event(key, EventType.FAILED_WORKFLOW_STAGE, payload | {"error": error})
    return Event(key, EventType.SUCCEEDED_WORKFLOW_STAGE, payload)


def trigger_succeeded(occurrence_id: str, trigger_id: str, instance_id: str) -> Event:
    return Event(
        f"occurrences/{occurrence_id}",
        EventType.SUCCEEDED_TRIGGER,
        {"id": occurrence_id, "triggerID": trigger_id, "workflowInstanceID": instance_id},
    )


def trigger_failed(occurrence_id: str, trigger_id: str, error: str) -> Event:
    return Event(
        f"occurrences/{occurrence_id}",
        EventType.FAILED_TRIGGER,
        {"id": occurrence_id, "triggerID": trigger_id, "error": error},
    )


def envelope(key: str, type: str, payload: dict[str, Any], date: datetime) -> bytes:
    """The Formance event envelope (§13) as published."""
    return json.dumps(
        {
            "idempotency_key": key,
            "date": date.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "app": "orchestration",
            "version": "v2",
            "type": type,
            "payload": payload,
        },
        separators=(",", ":"),
    ).encode()
