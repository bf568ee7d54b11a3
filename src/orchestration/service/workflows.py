"""Use cases on workflow definitions (§2.6 E1–E4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from orchestration import stages, storage
from orchestration.errors import ValidationFailed, WorkflowNotFound

from ._pages import Page, PageQuery, make_page

MAX_STAGES = 1_000
"""Most stages one workflow may have. The whole list is resolved at creation and loaded at every
start, and each stage run is a row: unbounded, one request could hold the server for seconds."""


class WorkflowService:
    def __init__(self, db: storage.Database) -> None:
        self._db = db

    async def create(self, body: Any) -> storage.WorkflowRow:
        """Store a definition after checking its structure (Q-14: requirements wait for the run)."""
        config = _workflow_config(body)
        try:
            stages.check_definition(config["stages"] or [])
        except stages.StageDefinitionError as exc:
            raise ValidationFailed(f"creating workflow: {exc}") from exc
        now = datetime.now(UTC)
        row = storage.WorkflowRow(
            id=str(uuid.uuid4()), config=config, created_at=now, updated_at=now, deleted_at=None
        )
        async with self._db.begin() as conn:
            await storage.insert_workflow(conn, row)
        return row

    async def get(self, workflow_id: str) -> storage.WorkflowRow:
        """Deleted workflows are still readable (Q-10)."""
        async with self._db.read() as conn:
            row = await storage.get_workflow(conn, workflow_id)
        if row is None:
            raise WorkflowNotFound()
        return row

    async def list_all(self) -> list[storage.WorkflowRow]:
        async with self._db.read() as conn:
            return await storage.list_workflows(conn, offset=0, limit=None)

    async def list_page(self, query: PageQuery) -> Page[storage.WorkflowRow]:
        async with self._db.read() as conn:
            rows = await storage.list_workflows(conn, offset=query.offset, limit=query.page_size + 1)
        return make_page(rows, query)

    async def delete(self, workflow_id: str) -> None:
        if not is_canonical_id(workflow_id):
            raise ValidationFailed(f"invalid workflow id '{workflow_id}': expected a lowercase UUID")
        async with self._db.begin() as conn:
            found = await storage.soft_delete_workflow(conn, workflow_id, datetime.now(UTC))
        if not found:
            raise WorkflowNotFound()


def _workflow_config(body: Any) -> dict[str, Any]:
    """The stored WorkflowConfig (§3.1): `name` ("" when absent) and `stages` (null when absent)."""
    if not isinstance(body, dict):
        raise ValidationFailed("unmarshalling json body: expected a JSON object with 'name' and 'stages'")
    name = body.get("name")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise ValidationFailed("unmarshalling json body: 'name' must be a string")
    stage_list = body.get("stages")
    if stage_list is not None and not isinstance(stage_list, list):
        raise ValidationFailed("unmarshalling json body: 'stages' must be an array of stage objects")
    if stage_list is not None and len(stage_list) > MAX_STAGES:
        raise ValidationFailed(f"creating workflow: {len(stage_list)} stages; a workflow has at most {MAX_STAGES}")
    return {"name": name, "stages": stage_list}


def is_canonical_id(value: str) -> bool:
    """Whether `value` can name something the server made: ids are lowercase canonical UUIDs."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
