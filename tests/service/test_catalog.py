"""The in-memory trigger catalog sees creations and deletions: its own at once, other
processes' within its refresh interval (PostgreSQL), on both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from orchestration import storage
from orchestration.service import TriggerCatalog
from tests.testing.waiting import assert_eventually


async def add_trigger(db: storage.Database, event: str, version: str | None = None) -> str:
    now = datetime.now(UTC)
    workflow = storage.WorkflowRow(id=str(uuid.uuid4()), config={"stages": []}, created_at=now, updated_at=now,
                                   deleted_at=None)
    trigger = storage.TriggerRow(id=str(uuid.uuid4()), workflow_id=workflow.id, name="", event=event,
                                 version=version, filter=None, vars=None, created_at=now, deleted_at=None)
    async with db.begin() as conn:
        await storage.insert_workflow(conn, workflow)
        await storage.insert_trigger(conn, trigger)
    return trigger.id


async def ids(catalog: TriggerCatalog, event: str, version: str = "v2") -> list[str]:
    return [t.id for t in await catalog.for_event(event, version)]


async def test_changes_through_this_process_are_seen_at_once(db: storage.Database) -> None:
    catalog = TriggerCatalog(db, shared=False, refresh_every=timedelta(hours=1))
    assert await ids(catalog, "X") == []
    first = await add_trigger(db, "X")
    assert await ids(catalog, "X") == []  # not told: an embedded process makes every change itself
    catalog.changed()
    assert await ids(catalog, "X") == [first]
    second, versioned, other_version = await add_trigger(db, "X"), await add_trigger(db, "X", "v2"), \
        await add_trigger(db, "X", "v3")
    async with db.begin() as conn:
        await storage.soft_delete_trigger(conn, first, datetime.now(UTC))
    catalog.changed()
    assert await ids(catalog, "X") == [second, versioned]
    assert await ids(catalog, "X", "v3") == [second, other_version]
    assert await ids(catalog, "Y") == []


async def test_other_processes_changes_are_seen_within_the_refresh_interval(db: storage.Database) -> None:
    catalog = TriggerCatalog(db, shared=True, refresh_every=timedelta(milliseconds=20))
    assert await ids(catalog, "X") == []
    made = await add_trigger(db, "X")
    await assert_eventually(lambda: ids(catalog, "X"), lambda found: found == [made], what="the new trigger")
    async with db.begin() as conn:
        await storage.soft_delete_trigger(conn, made, datetime.now(UTC))
    await assert_eventually(lambda: ids(catalog, "X"), lambda found: found == [], what="the deletion")


async def test_events_arriving_during_a_reload_see_the_reloaded_triggers(db: storage.Database) -> None:
    catalog = TriggerCatalog(db, shared=False, refresh_every=timedelta(hours=1))
    assert await ids(catalog, "X") == []
    made = await add_trigger(db, "X")
    catalog.changed()
    # Events keep coming while the catalog reloads, as the bus consumer hands them over:
    # none may see the old, empty list.
    lookups = []
    for _ in range(50):
        lookups.append(asyncio.create_task(ids(catalog, "X")))
        await asyncio.sleep(0.0005)
    assert await asyncio.gather(*lookups) == [[made]] * 50
