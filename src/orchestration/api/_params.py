"""What the routes read from paths and queries, and what the document says they take.

The dependencies are `async def` although they wait for nothing: FastAPI runs a plain `def`
dependency in a worker thread, a hop that costs more than the check itself, on every request.

Parameters are read by hand, to answer as the original does (Q-13: a stage number that is no
integer is a 404; Q-42: only DELETE refuses an id that is no UUID with a 400), so each one's
schema in the document is set from `_contract` rather than derived from its Python type.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeAlias

from fastapi import Depends, Path, Query

from orchestration.errors import InstanceNotFound, NotFound, ValidationFailed, WorkflowNotFound
from orchestration.limits import MAX_INT32
from orchestration.service import TriggerNotFound, is_canonical_id

from . import _contract as contract

# Go's strconv.ParseInt, base 10: an optional sign and ASCII digits, nothing else.
_STAGE_NUMBER = re.compile(r"[+-]?[0-9]+")


def documented_as(schema: contract.Schema) -> Callable[[dict[str, Any]], None]:
    """Replace the schema FastAPI derives for a parameter by `schema`."""

    def replace(generated: dict[str, Any]) -> None:
        generated.clear()
        generated.update(schema)

    return replace


def _path(description: str, schema: contract.Schema) -> Any:
    return Path(description=description, json_schema_extra=documented_as(schema))


WorkflowIdPath: TypeAlias = Annotated[str, _path("A workflow id.", contract.WORKFLOW_ID)]
InstanceIdPath: TypeAlias = Annotated[str, _path("An instance id.", contract.INSTANCE_ID)]
TriggerIdPath: TypeAlias = Annotated[str, _path("A trigger id.", contract.TRIGGER_ID)]
StageNumberPath: TypeAlias = Annotated[str, _path("A stage's index in the workflow.", contract.STAGE_NUMBER)]


async def _existing_workflow_id(workflowId: WorkflowIdPath) -> str:
    # Ids are UUIDs the server made: anything else names no workflow (Q-42: 404, not 400).
    if not is_canonical_id(workflowId):
        raise WorkflowNotFound()
    return workflowId


async def _existing_instance_id(instanceId: InstanceIdPath) -> str:
    if not is_canonical_id(instanceId):
        raise InstanceNotFound()
    return instanceId


async def _existing_trigger_id(triggerID: TriggerIdPath) -> str:
    if not is_canonical_id(triggerID):
        raise TriggerNotFound()
    return triggerID


async def _stage_number(number: StageNumberPath) -> int:
    # Q-13 (with a JSON body): what is not an integer names no stage; neither does one out of
    # range, which would overflow the database's 32-bit column. Leading zeros are dropped before
    # converting, so that no length of them reaches Python's 4,300-digit conversion limit.
    if _STAGE_NUMBER.fullmatch(number) is None:
        raise NotFound(f"stage number '{number}' is not an integer")
    digits = number.lstrip("+-").lstrip("0") or "0"
    if number.startswith("-") and digits != "0" or len(digits) > len(str(MAX_INT32)) or int(digits) > MAX_INT32:
        raise NotFound(f"stage number '{number}' is out of range: stages are numbered 0 to {MAX_INT32}")
    return int(digits)


def _query(description: str, schema: contract.Schema) -> Any:
    return Query(description=description, json_schema_extra=documented_as(schema))


async def _workflow_filter(
    workflowID: Annotated[str | None, _query("Only this workflow's instances.", contract.QUERY_TEXT)] = None,
) -> str | None:
    # Any text filters (a workflow id or not, as the original); NUL cannot reach PostgreSQL.
    if workflowID is not None and "\x00" in workflowID:
        raise ValidationFailed("invalid 'workflowID' query param: it contains a NUL character (U+0000)")
    return workflowID or None


async def _name_filter(
    name: Annotated[str | None, _query("Triggers whose name holds this text (any case).", contract.QUERY_TEXT)] = None,
) -> str | None:
    if name is not None and "\x00" in name:
        raise ValidationFailed("invalid 'name' query param: it contains a NUL character (U+0000)")
    return name or None


WorkflowId: TypeAlias = Annotated[str, Depends(_existing_workflow_id)]
TriggerId: TypeAlias = Annotated[str, Depends(_existing_trigger_id)]
NameFilter: TypeAlias = Annotated[str | None, Depends(_name_filter)]
InstanceId: TypeAlias = Annotated[str, Depends(_existing_instance_id)]
StageNumber: TypeAlias = Annotated[int, Depends(_stage_number)]
WorkflowFilter: TypeAlias = Annotated[str | None, Depends(_workflow_filter)]
PageSize: TypeAlias = Annotated[
    str | None, _query("Items per page: 0 or empty means 15, more than 100 means 100.", contract.PAGE_SIZE)
]
Cursor: TypeAlias = Annotated[
    str | None,
    _query("The `next` or `previous` cursor of an earlier page (it carries filters and page size).", contract.ANY_TEXT),
]
Flag: TypeAlias = Annotated[
    str | None, _query("`true` or `1` (any case) mean yes; anything else no.", contract.ANY_TEXT)
]
WaitFlag: TypeAlias = Annotated[
    str | None, _query("`true` or `1` (any case): answer once the instance has terminated.", contract.ANY_TEXT)
]


def truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1")
