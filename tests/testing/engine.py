"""A real engine in the test's own process and event loop, driven through the service layer.

No HTTP and no subprocess: `EngineHarness` composes storage, `Engine` and the services
exactly as `orchestration.server.start_process` does, with settings made for tests
(10 ms polls, parking after 100 ms, retries in milliseconds), and hands the test the
`WorkflowService` and `InstanceService` plus a few readers of what the API does not
show (parked waits, events, the engine's own workflows)::

    async with EngineHarness.running(data_dir=tmp_path / "data") as h:
        instance = await h.run([{"wait_event": {"event": "go"}}])
        await h.parked(instance)
        await h.instances.send_event(instance, "go")
        assert (await h.wait_terminated(instance)).instance.error is None

DBOS is one per process: a harness destroys its engine completely before the next one
may start (`stop`), and refuses to start while another one runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS

from orchestration import storage
from orchestration.config import EngineSettings, HttpSettings, RetrySettings, Settings, StackSettings, StorageSettings
from orchestration.engine import DataDirLock, Engine
from orchestration.server import Process, start_process
from orchestration.service import InstanceService, InstanceView, WorkflowService

from .waiting import DEFAULT_TIMEOUT, assert_eventually

log = logging.getLogger(__name__)

MS = timedelta(milliseconds=1)

# What a test engine runs with: everything the engine polls, every 10 ms; a wait parks
# after 100 ms; deadlines within half a second get a timer, later ones are found by a
# look-ahead every 100 ms; a failed call is tried again within tens of milliseconds.
FAST_ENGINE = EngineSettings(
    signal_poll_interval=10 * MS,
    heartbeat_interval=50 * MS,
    takeover_after=timedelta(seconds=1),
    park_after=100 * MS,
    timer_horizon=500 * MS,
    look_ahead_interval=100 * MS,
)
FAST_RETRY = RetrySettings(max_attempts=4, initial_interval=10 * MS, max_interval=50 * MS)
STACK_CLIENT_ID, STACK_CLIENT_SECRET = "orchestration", "secret"  # what `FakeStack()` accepts


def fast_settings(
    data_dir: Path,
    *,
    postgres_uri: str | None = None,
    stack_url: str = "",
    stack_timeout: timedelta = timedelta(seconds=5),
    retry: RetrySettings = FAST_RETRY,
    **engine: Any,
) -> Settings:
    """Settings of a test engine: embedded in `data_dir`, or on `postgres_uri`.

    Args:
        data_dir: the embedded data directory (also used for nothing else on PostgreSQL).
        postgres_uri: a database of its own for this engine; None: embedded SQLite.
        stack_url: a fake Formance gateway (`FakeStack().url`); none by default.
        stack_timeout: the longest a call to the gateway may take.
        retry: the activity retry policy (`FAST_RETRY`: 4 attempts, 10 to 50 ms apart).
        **engine: `EngineSettings` fields that differ from `FAST_ENGINE`, e.g. `park_after=`.
    """
    return Settings(
        storage=StorageSettings(postgres_uri=postgres_uri, data_dir=data_dir),
        http=HttpSettings(wait_timeout=timedelta(seconds=DEFAULT_TIMEOUT), wait_poll_interval=10 * MS),
        engine=replace(FAST_ENGINE, **engine),
        retry=retry,
        stack=StackSettings(
            url=stack_url,
            client_id=STACK_CLIENT_ID if stack_url else "",
            client_secret=STACK_CLIENT_SECRET if stack_url else "",
            timeout=stack_timeout,
        ),
    )


@dataclass(frozen=True)
class EventRow:
    """An event sent to an instance, and the stage that consumed it (None: not yet)."""

    name: str
    consumed_by_stage: int | None


class EngineBusy(RuntimeError):
    """Another harness's engine runs in this process: DBOS is a process-wide singleton."""


_running: EngineHarness | None = None


class EngineHarness:
    """One engine at a time, in the running event loop; `start` it, `stop` it, or use `running`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: Process | None = None
        self._lock: DataDirLock | None = None
        self._tasks_before: set[asyncio.Task[Any]] = set()

    @classmethod
    @asynccontextmanager
    async def running(cls, data_dir: Path, **settings: Any) -> AsyncIterator[EngineHarness]:
        """A started harness on `fast_settings(data_dir, **settings)`, stopped at the end of the block."""
        harness = cls(fast_settings(data_dir, **settings))
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()

    # -- life cycle ------------------------------------------------------------------

    @property
    def process(self) -> Process:
        if self._process is None:
            raise RuntimeError("the harness is not started")
        return self._process

    @property
    def workflows(self) -> WorkflowService:
        return self.process.services.workflows

    @property
    def instances(self) -> InstanceService:
        return self.process.services.instances

    @property
    def db(self) -> storage.Database:
        return self.process.db

    @property
    def engine(self) -> Engine:
        engine = self.process.engine
        assert isinstance(engine, Engine)
        return engine

    async def start(self) -> EngineHarness:
        """Migrate, launch the engine (recovering what an earlier one left) and build the services."""
        global _running
        if _running is not None:
            raise EngineBusy("an engine already runs in this process: stop its harness first")
        _running = self
        try:
            if self.settings.storage.embedded:
                # As `orchestration serve` does: one worker per data directory.
                self._lock = DataDirLock.acquire(self.settings.storage.data_dir)
            self._tasks_before = asyncio.all_tasks()
            self._process = await start_process(self.settings, worker=True)
        except BaseException:
            # An engine that failed to launch may have built DBOS already: the next one
            # would get this one's instead of its own.
            await self._cancel_leftover_tasks()
            DBOS.destroy(workflow_completion_timeout_sec=0)
            await self._release()
            raise
        return self

    async def stop(self) -> None:
        """End the engine as a process exit would, and free DBOS for the next one.

        The instance workflows running in this loop are cancelled first: like a killed
        process, they stop at an await, with DBOS's record of them still PENDING, and a
        later engine on the same data recovers them. Then the engine shuts down (DBOS is
        destroyed) and the database pool is closed.
        """
        if self._process is None:
            return
        try:
            await self._cancel_leftover_tasks()
            await self._process.close()
        finally:
            await self._release()

    async def restart(self, **changes: Any) -> EngineHarness:
        """Stop, then start an engine on the same data (with `changes` to the engine settings)."""
        await self.stop()
        if changes:
            self.settings = replace(self.settings, engine=replace(self.settings.engine, **changes))
        return await self.start()

    async def _cancel_leftover_tasks(self) -> None:
        current = asyncio.current_task()
        leftover = [t for t in asyncio.all_tasks() if t is not current and t not in self._tasks_before]
        for task in leftover:
            task.cancel()
        if leftover:
            _, pending = await asyncio.wait(leftover, timeout=DEFAULT_TIMEOUT)
            if pending:
                log.warning("%d task(s) ignored their cancellation: %s", len(pending), pending)

    async def _release(self) -> None:
        global _running
        self._process = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if _running is self:
            _running = None

    # -- doing ----------------------------------------------------------------------

    async def create_workflow(self, stages: list[Any], name: str = "") -> str:
        return (await self.workflows.create({"name": name, "stages": stages})).id

    async def run(self, stages: list[Any], variables: dict[str, str] | None = None) -> str:
        """Create a workflow of `stages` and start an instance of it; the instance id."""
        workflow_id = await self.create_workflow(stages)
        return (await self.instances.run(workflow_id, variables or {}, wait=False)).instance.id

    @asynccontextmanager
    async def database(self) -> AsyncIterator[storage.Database]:
        """Our database in a pool of its own, closed after the block: usable while the engine
        is stopped, to read what it left or to write what a crash would leave."""
        db = storage.Database(
            storage.database_url(
                postgres_uri=self.settings.storage.postgres_uri, data_dir=self.settings.storage.data_dir
            )
        )
        try:
            yield db
        finally:
            await db.dispose()

    async def wake_due(self) -> int:
        """Ask the engine's waker now what its timers and polls ask it: start the continuation
        of each parked instance whose wait is over; how many it started."""
        return await self.engine._waker.wake_due()

    # -- reading --------------------------------------------------------------------

    async def instance(self, instance_id: str) -> InstanceView:
        return await self.instances.get(instance_id)

    async def wait_terminated(self, instance_id: str, *, timeout: float = DEFAULT_TIMEOUT) -> InstanceView:
        return await assert_eventually(
            lambda: self.instance(instance_id),
            lambda view: view.instance.terminated,
            timeout=timeout,
            what=f"instance {instance_id} to terminate",
        )

    async def wait_stage(self, instance_id: str, stage: int, *, timeout: float = DEFAULT_TIMEOUT) -> InstanceView:
        """Once stage `stage` has started."""
        return await assert_eventually(
            lambda: self.instance(instance_id),
            lambda view: any(s.stage == stage for s in view.stages or []),
            timeout=timeout,
            what=f"stage {stage} of {instance_id} to start",
        )

    async def activities(self, instance_id: str, stage: int) -> list[storage.ActivityRow]:
        """The stage's activities with their attempts (its stage history); none before it starts."""
        async with self.db.read() as conn:
            return await storage.list_activities(conn, instance_id, stage)

    async def waits(self, instance_id: str) -> list[storage.WaitRow]:
        """The instance's parked waits (one row per stage that parked), by stage."""
        async with self.db.read() as conn:
            stages = await storage.list_stages(conn, instance_id)
            found = [await storage.get_wait(conn, instance_id, stage.stage) for stage in stages]
        return [wait for wait in found if wait is not None]

    async def parked(
        self, instance_id: str, stage: int | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> storage.WaitRow:
        """Once the instance is parked (in `stage`, if given) and not woken yet: its wait."""

        def waiting(found: list[storage.WaitRow]) -> list[storage.WaitRow]:
            return [w for w in found if w.woken_at is None and stage in (None, w.stage)]

        waits = await assert_eventually(
            lambda: self.waits(instance_id),
            lambda found: bool(waiting(found)),
            timeout=timeout,
            what=f"{instance_id} to park" + (f" in stage {stage}" if stage is not None else ""),
        )
        return waiting(waits)[-1]

    async def events(self, instance_id: str) -> list[EventRow]:
        """Events sent to the instance, oldest first."""
        query = sa.text("SELECT name, consumed_by_stage FROM instance_events WHERE instance_id = :id ORDER BY id")
        async with self.db.read() as conn:
            rows = (await conn.execute(query, {"id": instance_id})).all()
        return [EventRow(row.name, row.consumed_by_stage) for row in rows]

    async def listening(self) -> None:
        """Once the engine hears notices (its probe came back, and the waker polls at the look-ahead)."""
        interval = self.settings.engine.look_ahead_interval
        await assert_eventually(
            lambda: self.engine._waker.poll_interval, lambda polls: polls == interval, what="the worker to listen"
        )

    async def workflow_status(self, workflow_id: str) -> str | None:
        """The engine's status of a workflow (PENDING, SUCCESS, ...); None if it never started.

        An instance's first workflow has the instance's id, the continuation of one parked
        in stage n the id `<instance>:<n>`.
        """
        status = await DBOS.get_workflow_status_async(workflow_id)
        return status.status if status is not None else None

    async def wait_workflow(self, workflow_id: str, status: str, *, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Once the engine records `status` for the workflow (it records an end just after the last step)."""
        found = await assert_eventually(
            lambda: self.workflow_status(workflow_id),
            lambda s: s == status,
            timeout=timeout,
            what=f"engine workflow {workflow_id} to be {status}",
        )
        assert found is not None
        return found
