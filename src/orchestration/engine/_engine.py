"""DBOS set-up and the engine's door: start instances, wake them, continue parked ones, recover lost starts."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import socket
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSClient, DBOSConfig, SetWorkflowID

from orchestration import storage
from orchestration.stack import StackClient

from . import _runtime, _takeover
from ._retry import RetryPolicy
from ._runner import WORKFLOW_NAME, continuation_id, continued_instance_workflow, instance_workflow
from ._signals import Signals
from ._waker import LOOK_AHEAD_INTERVAL, Waker

log = logging.getLogger(__name__)

# Pinned: DBOS only recovers workflows started under the same application
# version, and ours must survive upgrades that do not change the step sequence.
# Bump only with a change of the instance workflow's steps (STYLE R12).
ENGINE_VERSION = "orchestration-engine-1"
APP_NAME = "orchestration"
DBOS_SQLITE_FILE = "engine.sqlite"

# Instances started by API-only servers wait in this queue for a worker.
INSTANCE_QUEUE = "orchestration-instances"


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    postgres_uri: str | None
    data_dir: Path
    executor_id: str | None
    signal_poll_interval: timedelta
    heartbeat_interval: timedelta = timedelta(seconds=2)
    takeover_after: timedelta = timedelta(seconds=10)
    stack_url: str = ""
    stack_client_id: str = ""
    stack_client_secret: str = ""
    stack_timeout: timedelta = timedelta(seconds=30)
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def system_database_url(config: EngineConfig) -> str:
    """DBOS's tables: schema `dbos` of our PostgreSQL database, or a SQLite file of their own.

    On SQLite, a file apart from ours keeps the engine's checkpoints and our
    bookkeeping from queueing on one write lock.
    """
    if config.postgres_uri:
        return config.postgres_uri
    return f"sqlite:///{(config.data_dir / DBOS_SQLITE_FILE).resolve()}"


def default_executor_id(config: EngineConfig) -> str:
    """Stable for the embedded server (it recovers its own instances on restart);
    unique per process on PostgreSQL, where survivors take over the dead ones' work."""
    if config.executor_id:
        return config.executor_id
    if not config.postgres_uri:
        return "embedded"
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


class Engine:
    """Runs instance workflows in this process (a worker)."""

    def __init__(self, config: EngineConfig, db: storage.Database) -> None:
        self._config = config
        self._db = db
        self.signals = Signals()
        self._waker = Waker(db, self._continue_instance)
        self._tasks: list[asyncio.Task[None]] = []
        self.executor_id = default_executor_id(config)
        self._stack = (
            StackClient(
                config.stack_url,
                client_id=config.stack_client_id,
                client_secret=config.stack_client_secret,
                timeout=config.stack_timeout,
            )
            if config.stack_url
            else None
        )
        dbos_config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": system_database_url(config),
            "application_version": ENGINE_VERSION,
            "executor_id": self.executor_id,
            "log_level": "WARNING",
        }
        if not config.postgres_uri:
            _use_wal(config.data_dir / DBOS_SQLITE_FILE)
        self._dbos = DBOS(config=dbos_config)

    async def launch(self) -> None:
        if not self._config.postgres_uri:
            self._lock_data_dir()
        _runtime.bind(
            _runtime.Runtime(
                db=self._db, signals=self.signals, waker=self._waker, stack=self._stack, retry=self._config.retry
            )
        )
        # Called on the event loop thread: DBOS then runs recovered workflows on this
        # loop, where our database connections and wake-up events live.
        DBOS.launch()
        self._tasks.append(asyncio.create_task(self._watch()))
        if self._config.postgres_uri:
            # Only API-only servers and takeovers enqueue, and several workers share the
            # database: heartbeats and takeover. An embedded worker is alone (its data
            # directory is locked) and recovers its own instances when it restarts.
            await DBOS.register_queue_async(INSTANCE_QUEUE, polling_interval_sec=1.0)
            keep_alive = _takeover.keep_alive(
                self._db,
                me=self.executor_id,
                queue=INSTANCE_QUEUE,
                every=self._config.heartbeat_interval,
                takeover_after=self._config.takeover_after,
            )
            self._tasks.append(asyncio.create_task(keep_alive))
        await self._start_lost_instances()

    def _lock_data_dir(self) -> None:
        """One embedded worker per data directory: two would both recover the same
        instances (they share the executor id) and run them twice."""
        self._lock_file = open(self._config.data_dir / "worker.lock", "a")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"another worker is using {self._config.data_dir}; run several workers on PostgreSQL"
            ) from None

    async def start_instance(self, instance_id: str, stages: list[Any], variables: dict[str, str]) -> None:
        with SetWorkflowID(instance_id):
            await DBOS.start_workflow_async(instance_workflow, instance_id, stages, variables)

    def notify(self, instance_id: str) -> None:
        self.signals.notify(instance_id)
        self._waker.check_soon(instance_id)

    async def _watch(self) -> None:
        """Forever: look for what this process was not told of.

        Where several processes share the database (PostgreSQL), events and aborts
        sent through the others and the deadlines they parked, every
        `signal_poll_interval`. Embedded, every change goes through this process:
        the deadlines of the next minutes, now and then. The first look, at once,
        catches up with what came due while no worker ran.
        """
        shared = bool(self._config.postgres_uri)
        interval = self._config.signal_poll_interval if shared else LOOK_AHEAD_INTERVAL
        while True:
            try:
                if shared:
                    await self.signals.poll_once(self._db)
                    await self._waker.wake_due()
                else:
                    await self._waker.look_ahead()
            except Exception:  # the database may be briefly unreachable: try again next time
                log.exception("watching for instance changes failed")
            await asyncio.sleep(interval.total_seconds())

    async def _continue_instance(self, wait: storage.DueWaitRow) -> None:
        """Start the continuation of a parked instance whose wait is over (once, whoever asks)."""
        with SetWorkflowID(continuation_id(wait.instance_id, wait.stage)):
            await DBOS.start_workflow_async(
                continued_instance_workflow,
                wait.instance_id,
                wait.config.get("stages") or [],
                wait.variables,
                wait.stage,
                wait.started_at.isoformat(),
            )

    async def shutdown(self) -> None:
        _runtime.current().stopping = True
        await self._waker.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(DBOS.destroy, workflow_completion_timeout_sec=0)
        if self._config.postgres_uri:
            # After DBOS stopped running our instances: survivors may take them over now.
            await _takeover.release(self._db, self.executor_id)
        if self._stack is not None:
            await self._stack.aclose()

    async def _start_lost_instances(self) -> None:
        """Start instances whose row was written but whose workflow never was
        (a crash between the two writes of a run request)."""
        async with self._db.read() as conn:
            unfinished = await storage.list_unfinished_instance_ids(conn)
        for chunk in _chunks(unfinished, 500):
            known = await DBOS.list_workflows_async(workflow_ids=chunk, load_input=False, load_output=False)
            known_ids = {w.workflow_id for w in known}
            for instance_id in chunk:
                if instance_id not in known_ids:
                    await self._restart(instance_id)

    async def _restart(self, instance_id: str) -> None:
        async with self._db.read() as conn:
            instance = await storage.get_instance(conn, instance_id)
            workflow = await storage.get_workflow(conn, instance.workflow_id) if instance else None
        if instance is None or workflow is None:
            return
        log.warning("starting instance %s whose start was interrupted", instance_id)
        await self.start_instance(instance_id, workflow.config.get("stages") or [], instance.variables)


def migrate_engine(config: EngineConfig) -> None:
    """Create or upgrade DBOS's tables (a worker also does it when it launches)."""
    DBOS.migrate(system_database_url(config))


class EngineClient:
    """Starts instances from a process without a worker (`serve --worker=false`)."""

    def __init__(self, config: EngineConfig) -> None:
        migrate_engine(config)
        self._client = DBOSClient(system_database_url=system_database_url(config))

    async def start_instance(self, instance_id: str, stages: list[Any], variables: dict[str, str]) -> None:
        await self._client.enqueue_async(
            {
                "queue_name": INSTANCE_QUEUE,
                "workflow_name": WORKFLOW_NAME,
                "workflow_id": instance_id,
                "app_version": ENGINE_VERSION,
            },
            instance_id,
            stages,
            variables,
        )

    def notify(self, instance_id: str) -> None:
        """Workers of other processes notice changes through their poller."""

    async def shutdown(self) -> None:
        await asyncio.to_thread(self._client.destroy)


def _use_wal(path: Path) -> None:
    """Put the engine's SQLite file in WAL mode (a setting the file keeps): the API
    reads while the engine writes, and a commit costs one sync instead of several."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
