"""Wire schemas, for the OpenAPI document and for tests that check responses against it.

Field names are the original service's (spec §3); optional fields are omitted
from responses when empty, as the original does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(_Wire):
    errorCode: Literal["VALIDATION", "NOT_FOUND", "INTERNAL"]
    errorMessage: str


class WorkflowConfig(_Wire):
    name: str = ""
    stages: list[dict[str, Any]] | None = Field(
        default=None,
        description="Each stage is an object with exactly one key, the stage type "
        "(send, delay, wait_event, update, noop), whose value is the stage configuration.",
    )


class Workflow(_Wire):
    id: str
    config: WorkflowConfig
    createdAt: datetime
    updatedAt: datetime
    deletedAt: datetime | None


class StageStatus(_Wire):
    stage: int
    instanceID: str
    temporalRunID: str
    startedAt: datetime
    terminatedAt: datetime | None = None
    error: str | None = None


class WorkflowInstance(_Wire):
    workflowID: str
    workflow: Workflow | None = Field(
        default=None,
        description="The instance's workflow, deleted or not: in reads of instances and in the answer to a run "
        "with wait=true; absent elsewhere.",
    )
    id: str
    createdAt: datetime
    updatedAt: datetime
    terminated: bool
    terminatedAt: datetime | None = None
    status: list[StageStatus] | None = None
    error: str | None = None


class StageHistory(_Wire):
    name: str
    input: dict[str, Any]
    error: str | None = None
    terminated: bool
    startedAt: datetime
    terminatedAt: datetime | None = None


class ActivityHistory(_Wire):
    name: str
    input: dict[str, Any]
    output: dict[str, Any] | None = None
    error: str | None = None
    terminated: bool
    startedAt: datetime
    terminatedAt: datetime | None = None
    lastFailure: str | None = None
    attempt: int
    nextExecution: datetime | None = None


class Trigger(_Wire):
    name: str
    event: str
    version: str | None = None
    filter: str | None = None
    workflowID: str
    workflow: Workflow | dict[str, Any] | None = Field(
        description="Always null, except in the answer to a creation, where it echoes the request's."
    )
    vars: dict[str, str] | None = None
    id: str
    createdAt: datetime


class TriggerEvent(_Wire):
    """The Formance event envelope an occurrence was for (its six keys, Q-47)."""

    idempotency_key: str
    date: str
    app: str
    version: str
    type: str
    payload: Any


class TriggerOccurrence(_Wire):
    id: str
    triggerID: str
    workflowInstanceID: str | None = None
    workflowInstance: WorkflowInstance | None = None
    date: datetime
    event: TriggerEvent
    error: str | None = None


class FilterResult(_Wire):
    match: bool
    error: str | None = None


class VariableResult(_Wire):
    value: str | None = None
    error: str | None = None


class TestTriggerResult(_Wire):
    filter: FilterResult | None
    variables: dict[str, VariableResult] | None


class WebhookResult(_Wire):
    started: list[str] = Field(description="Ids of the instances the event started.")
    failed: list[str] = Field(description="Ids of the occurrences whose variables failed.")
    duplicates: int = Field(description="Matching triggers that had already fired for this delivery or object.")


class ServerInfo(_Wire):
    version: str


class Health(_Wire):
    default: Literal["OK", "DOWN"] = Field(description="OK when every part is.")
    database: str = Field(description="`OK`, or `DOWN: <why>`.")
    engine: str = Field(description="This process's engine worker: `OK`, or `DOWN: <why>`.")
    bus: str | None = Field(default=None, description="NATS, where this process uses it: `OK`, or `DOWN: <why>`.")


class Data(_Wire, Generic[T]):
    data: T


class Cursor(_Wire, Generic[T]):
    pageSize: int
    hasMore: bool
    previous: str | None = None
    next: str | None = None
    data: list[T]


class CursorResponse(_Wire, Generic[T]):
    cursor: Cursor[T]
