"""Rows to wire JSON (spec §3): omitted-when-empty fields, µs UTC timestamps (Q-12)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestration.service import (
    ActivityRow,
    DispatchOutcome,
    InstanceRow,
    OccurrenceView,
    Page,
    StageRow,
    TestResult,
    TriggerRow,
    WorkflowRow,
)


def timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def workflow(row: WorkflowRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "config": row.config,
        "createdAt": timestamp(row.created_at),
        "updatedAt": timestamp(row.updated_at),
        "deletedAt": timestamp(row.deleted_at) if row.deleted_at else None,
    }


def instance(row: InstanceRow, stages: list[StageRow] | None = None, of: WorkflowRow | None = None) -> dict[str, Any]:
    """An instance; with `of`, its workflow embedded after `workflowID` (FLOWS-2026 §24)."""
    body: dict[str, Any] = {"workflowID": row.workflow_id}
    if of is not None:
        body["workflow"] = workflow(of)
    body |= {
        "id": row.id,
        "createdAt": timestamp(row.created_at),
        "updatedAt": timestamp(row.updated_at),
        "terminated": row.terminated,
    }
    if row.terminated_at:
        body["terminatedAt"] = timestamp(row.terminated_at)
    if stages:
        body["status"] = [stage_status(s) for s in stages]
    if row.error:
        body["error"] = row.error
    return body


def stage_status(row: StageRow) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stage": row.stage,
        "instanceID": row.instance_id,
        "temporalRunID": row.temporal_run_id,
        "startedAt": timestamp(row.started_at),
    }
    if row.terminated_at:
        body["terminatedAt"] = timestamp(row.terminated_at)
    if row.error:
        body["error"] = row.error
    return body


def stage_history(row: StageRow) -> dict[str, Any]:
    body: dict[str, Any] = {"name": row.name, "input": row.input}
    if row.error:
        body["error"] = row.error
    body["terminated"] = row.terminated_at is not None
    body["startedAt"] = timestamp(row.started_at)
    if row.terminated_at:
        body["terminatedAt"] = timestamp(row.terminated_at)
    return body


def activity_history(row: ActivityRow) -> dict[str, Any]:
    """An activity (§3.5, §10.2): `lastFailure`/`nextExecution` only while it is pending."""
    body: dict[str, Any] = {"name": row.name, "input": {row.name: row.input}}
    if row.output is not None:
        body["output"] = {row.name: row.output}
    if row.error:
        body["error"] = row.error
    body["terminated"] = row.terminated_at is not None
    body["startedAt"] = timestamp(row.started_at)
    if row.terminated_at:
        body["terminatedAt"] = timestamp(row.terminated_at)
    if row.last_failure and row.terminated_at is None:
        body["lastFailure"] = row.last_failure
    body["attempt"] = row.attempt
    if row.next_execution and row.terminated_at is None:
        body["nextExecution"] = timestamp(row.next_execution)
    return body


def trigger(row: TriggerRow, echoed_workflow: Any = None) -> dict[str, Any]:
    """§3.6 (and FLOWS-2026 §23.1 for `version`): `filter`, `vars`, `version` omitted when unset."""
    body: dict[str, Any] = {"name": row.name, "event": row.event}
    if row.version is not None:
        body["version"] = row.version
    if row.filter is not None:
        body["filter"] = row.filter
    body["workflowID"] = row.workflow_id
    body["workflow"] = echoed_workflow
    if row.vars:
        body["vars"] = row.vars
    body["id"] = row.id
    body["createdAt"] = timestamp(row.created_at)
    return body


def occurrence(view: OccurrenceView) -> dict[str, Any]:
    """§3.7: the instance embedded without its stages."""
    row = view.occurrence
    body: dict[str, Any] = {"id": row.id, "triggerID": row.trigger_id}
    if row.workflow_instance_id:
        body["workflowInstanceID"] = row.workflow_instance_id
    if view.instance is not None:
        body["workflowInstance"] = instance(view.instance)
    body["date"] = timestamp(row.date)
    body["event"] = row.event
    if row.error:
        body["error"] = row.error
    return body


def test_result(result: TestResult) -> dict[str, Any]:
    """§3.8: `error` and `value` omitted when empty."""
    filter_: dict[str, Any] | None = None
    if result.filter is not None:
        filter_ = {"match": result.filter.match}
        if result.filter.error:
            filter_["error"] = result.filter.error
    variables = None
    if result.variables is not None:
        variables = {}
        for name, variable in result.variables.items():
            shown: dict[str, str] = {}
            if variable.value:
                shown["value"] = variable.value
            if variable.error:
                shown["error"] = variable.error
            variables[name] = shown
    return {"filter": filter_, "variables": variables}


def dispatch_outcome(outcome: DispatchOutcome) -> dict[str, Any]:
    return {"started": outcome.started, "failed": outcome.failed, "duplicates": outcome.duplicates}


def cursor(page: Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"pageSize": page.page_size, "hasMore": page.has_more}
    if page.previous:
        body["previous"] = page.previous
    if page.next:
        body["next"] = page.next
    body["data"] = items
    return {"cursor": body}
