"""Frozen rows handed out by storage (STYLE R6)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any


def columns(row: Any) -> dict[str, Any]:
    """A row's fields by name, as the statement's parameters: `dataclasses.asdict` would copy
    every JSON value deeply, for nothing (rows are frozen, statements do not change them)."""
    return {field.name: getattr(row, field.name) for field in fields(row)}


@dataclass(frozen=True, slots=True)
class WorkflowRow:
    id: str
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class InstanceRow:
    id: str
    workflow_id: str
    created_at: datetime
    updated_at: datetime
    terminated: bool
    terminated_at: datetime | None
    error: str | None
    variables: dict[str, str]


@dataclass(frozen=True, slots=True)
class InstanceToStartRow:
    """An instance whose workflow is to be started, with what starting it needs."""

    instance_id: str
    workflow_id: str
    terminated: bool  # aborted before it started: left as it is
    variables: dict[str, str]
    config: dict[str, Any]  # of its workflow


@dataclass(frozen=True, slots=True)
class StageRow:
    instance_id: str
    stage: int
    temporal_run_id: str
    started_at: datetime
    terminated_at: datetime | None
    error: str | None
    name: str
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActivityRow:
    instance_id: str
    stage: int
    sequence: int
    name: str
    input: dict[str, Any]
    output: Any
    error: str | None
    started_at: datetime
    terminated_at: datetime | None
    attempt: int
    last_failure: str | None
    next_execution: datetime | None
    error_code: str | None


@dataclass(frozen=True, slots=True)
class WaitRow:
    instance_id: str
    stage: int
    event: str | None
    wake_at: datetime | None
    parked_at: datetime
    woken_at: datetime | None = None
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DueWaitRow:
    """A parked instance whose wait is over, with what its continuation needs."""

    instance_id: str
    stage: int
    due_at: datetime
    event: str | None
    started_at: datetime  # of the stage it is parked in
    variables: dict[str, str]
    config: dict[str, Any]  # of its workflow


@dataclass(frozen=True, slots=True)
class TriggerRow:
    id: str
    workflow_id: str
    name: str
    event: str
    version: str | None
    filter: str | None
    vars: dict[str, str] | None
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class OccurrenceRow:
    id: str
    trigger_id: str
    workflow_instance_id: str | None
    date: datetime
    event: dict[str, Any]
    error: str | None
    dispatch_key: str


@dataclass(frozen=True, slots=True)
class OccurrenceView:
    """An occurrence with the instance it started, as the API lists them (§2.6 E16)."""

    occurrence: OccurrenceRow
    instance: InstanceRow | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    key: str
    type: str
    payload: dict[str, Any]
    created_at: datetime
