"""Use cases on instances: run, read, send events, abort, history (§2.6 E5–E11)."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from orchestration import events, storage
from orchestration.errors import InstanceNotFound, NotFound, ValidationFailed, WorkflowNotFound
from orchestration.observability import metrics
from orchestration.waiting import wait_at_most

from ._pages import Page, PageQuery, make_page

# How often a `?wait=true` request looks at an instance whose end it will be told of anyway.
_WATCHED_RECHECK = timedelta(seconds=1)


class InstanceStarter(Protocol):
    """The part of the engine the service needs."""

    async def request_start(self, conn: storage.Connection, instance_id: str, now: datetime) -> None:
        """In the transaction that writes the instance's row: what must be written with it for the
        instance to be started by another process (an API-only server's request to the workers)."""
        ...

    async def start_instance(self, instance_id: str, stages: list[Any], variables: dict[str, str]) -> None: ...

    def notify(self, instance_id: str, *, wait_due: bool = False) -> None:
        """Something happened to the instance; `wait_due`: one of its parked waits came due."""
        ...

    def watch(self, instance_id: str) -> AbstractContextManager[asyncio.Event | None]:
        """An event set when something happens to the instance in this process (its end among
        them), while the block runs; None where nothing runs here."""
        ...


def new_instance(instance_id: str, workflow_id: str, variables: dict[str, str], now: datetime) -> storage.InstanceRow:
    """The row of an instance about to start."""
    return storage.InstanceRow(
        id=instance_id,
        workflow_id=workflow_id,
        created_at=now,
        updated_at=now,
        terminated=False,
        terminated_at=None,
        error=None,
        variables=variables,
    )


@dataclass(frozen=True)
class InstanceView:
    instance: storage.InstanceRow
    stages: list[storage.StageRow] | None
    workflow: storage.WorkflowRow | None = None
    """Its workflow, where the answer embeds it (FLOWS-2026 §24): reads of instances, not a start."""


class InstanceService:
    def __init__(
        self,
        db: storage.Database,
        engine: InstanceStarter,
        *,
        wait_timeout: timedelta,
        wait_poll_interval: timedelta,
        publish_events: bool = False,
    ) -> None:
        self._db = db
        self._publish_events = publish_events
        self._engine = engine
        self._wait_timeout = wait_timeout
        self._wait_poll_interval = wait_poll_interval

    async def run(self, workflow_id: str, variables: dict[str, str], *, wait: bool) -> InstanceView:
        """Start an instance; with `wait`, return it once terminated (Q-2 fixed) or at the timeout."""
        now = datetime.now(UTC)
        async with self._db.begin() as conn:
            workflow = await storage.get_workflow(conn, workflow_id)
            if workflow is None:
                raise WorkflowNotFound()
            instance = new_instance(str(uuid.uuid4()), workflow_id, variables, now)
            await storage.insert_instance(conn, instance)
            await self._engine.request_start(conn, instance.id, now)
            if self._publish_events:
                await storage.record_events(conn, [events.workflow_started(workflow_id, instance.id)], now=now)
        metrics.INSTANCES_STARTED.labels(workflow_id).inc()
        # A crash right here leaves a row without a workflow: the engine starts
        # such instances when it launches (`Engine._start_lost_instances`).
        await self._engine.start_instance(instance.id, workflow.config.get("stages") or [], variables)
        if not wait:
            return InstanceView(instance, None)
        return await self._wait_for_end(instance.id)

    async def get(self, instance_id: str) -> InstanceView:
        async with self._db.read() as conn:
            instance = await storage.get_instance(conn, instance_id)
            if instance is None:
                raise InstanceNotFound()
            stages = await storage.list_stages(conn, instance_id)
            return InstanceView(instance, stages, await storage.get_workflow(conn, instance.workflow_id))

    async def list_all(self, *, workflow_id: str | None, running: bool) -> list[InstanceView]:
        async with self._db.read() as conn:
            rows = await storage.list_instances(conn, workflow_id=workflow_id, running=running, offset=0, limit=None)
        return [InstanceView(instance, None, workflow) for instance, workflow in rows]

    async def list_page(self, query: PageQuery) -> Page[InstanceView]:
        workflow_id = query.filters.get("WorkflowID") or None
        running = bool(query.filters.get("Running"))
        async with self._db.read() as conn:
            rows = await storage.list_instances(
                conn, workflow_id=workflow_id, running=running, offset=query.offset, limit=query.page_size + 1
            )
        return make_page([InstanceView(instance, None, workflow) for instance, workflow in rows], query)

    async def send_event(self, instance_id: str, name: str) -> None:
        """Keep the event until a wait_event stage waiting for `name` consumes it."""
        async with self._db.begin() as conn:
            terminated = await storage.lock_terminated(conn, instance_id)
            if terminated is None:
                raise InstanceNotFound()
            if terminated:
                raise ValidationFailed("instance is terminated: it cannot receive events")
            wait_due = await storage.insert_event(conn, instance_id, name, datetime.now(UTC))
        self._engine.notify(instance_id, wait_due=wait_due)

    async def abort(self, instance_id: str) -> None:
        """Stop the instance now (Q-1 fixed); aborting a terminated instance changes nothing."""
        now = datetime.now(UTC)
        async with self._db.begin() as conn:
            instance = await storage.lock_instance(conn, instance_id)
            if instance is None:
                raise InstanceNotFound()
            running = []
            if self._publish_events:  # the stages the abort ends, each reported
                running = [s.stage for s in await storage.list_stages(conn, instance_id) if s.terminated_at is None]
            canceled = await storage.cancel_instance(conn, instance_id, now=now)
            if canceled and self._publish_events:
                ended = [events.stage_ended(instance.workflow_id, instance_id, n, storage.CANCELED) for n in running]
                ended.append(events.workflow_ended(instance.workflow_id, instance_id, storage.CANCELED))
                await storage.record_events(conn, ended, now=now)
        if canceled:
            metrics.INSTANCES_CANCELED.labels(instance.workflow_id).inc()
        self._engine.notify(instance_id)

    async def history(self, instance_id: str) -> list[storage.StageRow]:
        async with self._db.read() as conn:
            if await storage.get_instance(conn, instance_id) is None:
                raise InstanceNotFound()
            return await storage.list_stages(conn, instance_id)

    async def stage_history(self, instance_id: str, stage: int) -> list[storage.ActivityRow]:
        """Activities of a stage with their attempts; stages without activities have none."""
        async with self._db.read() as conn:
            if await storage.get_stage(conn, instance_id, stage) is None:
                raise NotFound("Instance not found")
            return await storage.list_activities(conn, instance_id, stage)

    async def _wait_for_end(self, instance_id: str) -> InstanceView:
        """Woken by the instance's end where this process has an engine (it hears of the ends
        of instances run by others through its poller), with a look every second as a safety
        net; without one, it looks every `wait_poll_interval`."""
        deadline = time.monotonic() + self._wait_timeout.total_seconds()
        with self._engine.watch(instance_id) as changed:
            while True:
                if changed is not None:
                    changed.clear()  # before the read: a change after it is not missed
                view = await self.get(instance_id)
                remaining = deadline - time.monotonic()
                if view.instance.terminated or remaining <= 0:
                    return view
                every = self._wait_poll_interval if changed is None else _WATCHED_RECHECK
                pause = min(every.total_seconds(), remaining)
                if changed is None:
                    await asyncio.sleep(pause)
                else:
                    await wait_at_most(changed, pause)
