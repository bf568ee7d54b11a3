"""Use cases on triggers: create, read, list, delete, occurrences, test (§2.6 E12–E17)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestration import storage
from orchestration.errors import NotFound, ValidationFailed

from ._catalog import TriggerCatalog
from ._expressions import (
    FilterResult,
    LinkFetcher,
    VariableResult,
    compile_checked,
    run_filter,
    run_variables,
)
from ._pages import Page, PageQuery, make_page


class TriggerNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("trigger not found")


@dataclass(frozen=True)
class TestResult:
    """What a trigger would do with an event (§3.8): None where it would not get that far."""

    filter: FilterResult | None
    variables: dict[str, VariableResult] | None


class TriggerService:
    def __init__(self, db: storage.Database, links: LinkFetcher | None, catalog: TriggerCatalog) -> None:
        self._db = db
        self._links = links
        self._catalog = catalog

    async def create(self, body: Any) -> storage.TriggerRow:
        """Validate in the original's order (E13), then store; expressions must compile."""
        data = _trigger_data(body)
        if not data["event"]:
            raise ValidationFailed("validating data: missing event")
        if not data["workflowID"]:
            raise ValidationFailed("validating data: missing workflow id")
        if data["filter"]:
            compile_checked(data["filter"])
        for source in (data["vars"] or {}).values():
            compile_checked(source)
        row = storage.TriggerRow(
            id=str(uuid.uuid4()),
            workflow_id=data["workflowID"],
            name=data["name"] or "",
            event=data["event"],
            version=data["version"],
            filter=data["filter"],
            vars=data["vars"] or None,
            created_at=datetime.now(UTC),
            deleted_at=None,
        )
        async with self._db.begin() as conn:
            workflow = await storage.get_workflow(conn, row.workflow_id)
            if workflow is None or workflow.deleted_at is not None:
                raise NotFound("workflow does not exists")
            await storage.insert_trigger(conn, row)
        self._catalog.changed()
        return row

    async def get(self, trigger_id: str) -> storage.TriggerRow:
        async with self._db.read() as conn:
            row = await storage.get_trigger(conn, trigger_id)
        if row is None:
            raise TriggerNotFound()
        return row

    async def list_page(self, query: PageQuery) -> Page[storage.TriggerRow]:
        async with self._db.read() as conn:
            rows = await storage.list_triggers(
                conn, name=query.filters.get("Name") or None, offset=query.offset, limit=query.page_size + 1
            )
        return make_page(rows, query)

    async def delete(self, trigger_id: str) -> None:
        async with self._db.begin() as conn:
            if not await storage.soft_delete_trigger(conn, trigger_id, datetime.now(UTC)):
                raise TriggerNotFound()
        self._catalog.changed()

    async def occurrences(self, trigger_id: str) -> list[storage.OccurrenceView]:
        """Every occurrence, the trigger deleted or not, known or not (E16: unknown → none)."""
        async with self._db.read() as conn:
            return await storage.list_occurrences(conn, trigger_id, offset=0, limit=None)

    async def occurrences_page(self, trigger_id: str, query: PageQuery) -> Page[storage.OccurrenceView]:
        """Q-8: a cursor's trigger wins over the path's."""
        listed = query.filters.get("TriggerID") or trigger_id
        async with self._db.read() as conn:
            rows = await storage.list_occurrences(conn, listed, offset=query.offset, limit=query.page_size + 1)
        return make_page(rows, query)

    async def test(self, trigger_id: str, payload: Any) -> TestResult:
        """E17: evaluate the filter, then (if it matched) the variables, on a sample payload."""
        trigger = await self.get(trigger_id)
        matched = await run_filter(trigger.filter, payload, self._links)
        if (matched is not None and not matched.match) or not trigger.vars:
            return TestResult(matched, None)
        return TestResult(matched, await run_variables(trigger.vars, payload, self._links))


def _trigger_data(body: Any) -> dict[str, Any]:
    """TriggerData (§3.6) with each field of its type (Q-5: a 400 here, not the original's 500)."""
    if not isinstance(body, dict):
        raise ValidationFailed("unmarshalling json body: expected a JSON object (TriggerData)")
    data: dict[str, Any] = {}
    for key in ("name", "event", "version", "filter", "workflowID"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise ValidationFailed(f"unmarshalling json body: '{key}' must be a string")
        data[key] = value
    variables = body.get("vars")
    if variables is not None:
        if not isinstance(variables, dict):
            raise ValidationFailed("unmarshalling json body: 'vars' must be an object of expressions")
        for name, source in variables.items():
            if not isinstance(source, str):
                raise ValidationFailed(f"unmarshalling json body: variable '{name}' must be a string expression")
    data["vars"] = variables
    return data
