"""DBOS set-up and the engine's door: start instances, wake them, continue parked ones, recover lost starts."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import uuid
from contextlib import AbstractContextManager, closing, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID

from orchestration import storage
from orchestration.config import Settings, StorageSettings
from orchestration.observability import traces
from orchestration.stack import StackClient
from orchestration.waiting import stop_if_cancelled

from . import _runtime, _takeover
from ._dbos_pacing import pace_background_polls
from ._in_place import start_in_place, wake_in_place

# Importing the module registers its workflows with DBOS, those of earlier releases included.
from ._instance_workflow import (
    continuation_id,
    continued_instance_workflow,
    instance_workflow,
    run_options,
)
from ._listener import Listener
from ._queue_polls import QueuePace, instance_queue, poll_queues
from ._signals import Signals
from ._slots import InstanceSlots
from ._starter import Starter
from ._waker import Waker

log = logging.getLogger(__name__)

# Pinned: DBOS only recovers workflows started under the same application
# version, and ours must survive upgrades that do not change the step sequence.
# Bump only with a change of the instance workflow's steps (STYLE R12).
ENGINE_VERSION = "orchestration-engine-1"
APP_NAME = "orchestration"
DBOS_SQLITE_FILE = "engine.sqlite"

# Threads for DBOS's checkpoints (the event loop's default executor too).
_EXECUTOR_THREADS = 4

# An id no workflow has: a lookup of it costs one indexed query.
_NO_WORKFLOW = "orchestration-no-workflow"

# The takeovers of a dead worker's instances wait in this queue for a worker (and so did, before
# release 0.6.0, the instances API-only servers started).
INSTANCE_QUEUE = "orchestration-instances"


def system_database_url(settings: StorageSettings) -> str:
    """DBOS's tables: schema `dbos` of our PostgreSQL database, or a SQLite file of their own.

    On SQLite, a file apart from ours keeps the engine's checkpoints and our
    bookkeeping from queueing on one write lock.
    """
    if settings.postgres_uri:
        return settings.postgres_uri
    return f"sqlite:///{(settings.data_dir / DBOS_SQLITE_FILE).resolve()}"


def default_executor_id(settings: Settings) -> str:
    """Stable for the embedded server (it recovers its own instances on restart);
    unique per process on PostgreSQL, where survivors take over the dead ones' work."""
    if settings.engine.executor_id:
        return settings.engine.executor_id
    if settings.storage.embedded:
        return "embedded"
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


class Engine:
    """Runs instance workflows in this process (a worker).

    Embedded, the caller holds the data directory's `DataDirLock` for the engine's life. `stack`
    is the gateway's client (None: no `--stack-url`), which the caller owns and closes.
    """

    def __init__(self, settings: Settings, db: storage.Database, stack: StackClient | None) -> None:
        self._settings = settings
        self._shared = not settings.storage.embedded  # several processes share the database
        self._db = db
        self.signals = Signals()
        # Where several processes share the database, what the others changed (events sent
        # through them, deadlines they parked) is heard from the database's notices, or found by
        # polling while they cannot be heard (`Listener`); embedded, every change goes through this
        # process. Either way the look-ahead sets the next timer again.
        engine_settings = settings.engine
        self._waker = Waker(
            db,
            self._continue_instance,
            end_in_place=self._wake_in_place,
            timer_horizon=engine_settings.timer_horizon,
            poll_interval=engine_settings.signal_poll_interval if self._shared else engine_settings.look_ahead_interval,
        )
        # DBOS's queues (`_queue_polls`): embedded, only recovery at launch queues anything (and
        # hurries the poll); on PostgreSQL, takeovers too, polled at the listener's pace.
        self._internal_pace = QueuePace(engine_settings.look_ahead_interval)
        self._instance_pace = QueuePace(engine_settings.look_ahead_interval)
        limit = engine_settings.max_parallel_instances
        # With a limit, the instances a takeover queued beyond it wait there for a slot here.
        on_free = self._instance_pace.hurry if self._shared and limit else None
        self._slots = InstanceSlots(limit, on_free=on_free)
        # Where API-only servers may run instances: who starts them here.
        self._starter = (
            Starter(
                db, self._start_from_row, self._slots, recover=self._start_lost_instances,
                poll_interval=engine_settings.signal_poll_interval,
            )
            if self._shared
            else None
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._launched = False
        self.executor_id = default_executor_id(settings)
        self._stack = stack
        dbos_config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": system_database_url(settings.storage),
            "application_version": ENGINE_VERSION,
            "executor_id": self.executor_id,
            "log_level": "WARNING",
            # DBOS's listener for its own notifications (we send none) sleeps this long
            # between looks on SQLite, and stopping DBOS waits for it to wake: paced like
            # our own polls, a stop takes one interval instead of DBOS's default second.
            "notification_listener_polling_interval_sec": settings.engine.signal_poll_interval.total_seconds(),
            # On PostgreSQL, DBOS sends its notifications (we send none) from a thread that looks
            # for some every 10 ms; stopping DBOS waits for it too.
            "notification_coalesce_sec": settings.engine.signal_poll_interval.total_seconds(),
            # DBOS runs its checkpoints in threads, and without a bound starts one more for
            # each in flight: hundreds in a burst, each with its stack, all fighting for the GIL.
            "max_executor_threads": _EXECUTOR_THREADS,
        }
        if traces.enabled():
            # DBOS's span per workflow (an instance's run) and per step, in our tracer provider.
            dbos_config["enable_otlp"] = True
        if settings.storage.embedded:
            engine_file = settings.storage.data_dir / DBOS_SQLITE_FILE
            _use_wal(engine_file)
            dbos_config["db_engine_kwargs"] = _sqlite_engine_kwargs(engine_file)
        else:
            dbos_config["sys_db_pool_size"] = settings.storage.postgres_max_open_conns
        self._dbos = DBOS(config=dbos_config)
        pace_background_polls()
        others = [(instance_queue(INSTANCE_QUEUE, limit or None), self._instance_pace)] if self._shared else []
        poll_queues(self._dbos, internal=self._internal_pace, others=others)

    async def launch(self) -> None:
        _runtime.bind(
            _runtime.Runtime(
                db=self._db,
                signals=self.signals,
                waker=self._waker,
                stack=self._stack,
                settings=self._settings.engine,
                retry=self._settings.retry,
                instance_slots=self._slots,
                publish_events=self._settings.bus.nats_enabled,
            )
        )
        # Called on the event loop thread: DBOS then runs recovered workflows on this
        # loop, where our database connections and wake-up events live.
        DBOS.launch()
        # DBOS makes its bounded executor the loop's default at its first async call, and the
        # workflows it recovers at launch run before ours: make that call now, before the loop
        # runs them (a relaunch in the same loop would find the stopped executor of the last).
        await DBOS.list_workflows_async(workflow_ids=[_NO_WORKFLOW], load_input=False, load_output=False)
        self._launched = True
        self._waker.start()
        if self._starter is not None:
            # Said alive before it takes anything: should it die, what it took is taken over.
            async with self._db.begin() as conn:
                await storage.beat(conn, self.executor_id, datetime.now(UTC))
            listener = Listener(
                self._db, self._waker, self._starter, self.signals, self._settings.engine,
                queue_paces=[self._internal_pace, self._instance_pace], takeovers=self._instance_pace,
            )
            self._tasks.append(asyncio.create_task(listener.run(), name="listener"))
            self._tasks.append(asyncio.create_task(self._watch(), name="watcher"))
            # Several workers share the database: heartbeats and takeover. An embedded worker is
            # alone (its data directory is locked) and recovers its own instances when it restarts.
            keep_alive = _takeover.keep_alive(
                self._db,
                me=self.executor_id,
                queue=INSTANCE_QUEUE,
                every=self._settings.engine.heartbeat_interval,
                takeover_after=self._settings.engine.takeover_after,
                start_lost=self._start_lost_instances,
            )
            self._tasks.append(asyncio.create_task(keep_alive, name="heartbeat"))
        await self._start_lost_instances()
        if self._starter is not None:  # after: the instances it takes are not lost ones
            self._starter.start()

    async def request_start(self, conn: storage.Connection, instance_id: str, now: datetime) -> None:
        """This process starts the instance itself (`start_instance`) once its row is committed."""

    async def start_instance(self, instance_id: str, stages: list[Any], variables: dict[str, str]) -> None:
        try:
            if await start_in_place(instance_id, stages, variables):
                return
        except Exception as exc:  # the workflow does it instead, and ends the instance visibly if it must
            storage.log_failure(log, f"instance {instance_id} could not run in place; its workflow runs it", exc)
        with SetWorkflowID(instance_id):
            handle = await DBOS.start_workflow_async(
                instance_workflow, instance_id, stages, variables, **run_options()
            )
        running = _running_here(handle)
        if running is not None:
            self._slots.expect(instance_id, running)

    def notify(self, instance_id: str, *, wait_due: bool = False) -> None:
        self.signals.notify(instance_id)
        if wait_due:  # only then has the waker something to do: a look costs two queries
            self._waker.wake_soon()

    def watch(self, instance_id: str) -> AbstractContextManager[asyncio.Event | None]:
        return self.signals.subscribe(instance_id)

    def problem(self) -> str | None:
        """Why this worker is not running as it should (None: it is)."""
        if not self._launched:
            return "not launched"
        stopped = [task.get_name() for task in self._tasks if task.done()]
        if self._waker.stopped:
            stopped.append("waker")
        if self._starter is not None and self._starter.stopped:
            stopped.append("starter")
        return f"stopped: {', '.join(stopped)}" if stopped else None

    async def _watch(self) -> None:
        """Forever, where several processes share the database: tell what waits in memory in this
        process (stages, `?wait=true` requests) of the events, aborts and ends that came through
        the others. Notices tell of aborts at once, not of events for waits in memory nor of ends
        (a notice for each would queue those commits on PostgreSQL's notice lock): this looks
        for them, only while something here waits."""
        while True:
            try:
                await self.signals.poll_once(self._db)
            except Exception as exc:  # the database may be briefly unreachable: try again next time
                stop_if_cancelled()
                storage.log_failure(log, "watching for instance changes failed", exc)
            await asyncio.sleep(self._settings.engine.signal_poll_interval.total_seconds())

    async def _wake_in_place(self, waits: list[storage.DueWaitRow]) -> set[tuple[str, int]]:
        """End without a continuation those of `waits` with nothing to run after the wait."""
        try:
            return await wake_in_place(waits)
        except Exception as exc:
            if storage.unreachable(exc):
                raise  # passed over: the next round tries again
            # Whatever fails it every time (a bug, a refused statement) must not leave the instances
            # waiting for ever: their continuations do the same, and end them visibly if they must.
            ids = ", ".join(wait.instance_id for wait in waits)
            log.exception("instances %s could not be woken in place; their continuations run them", ids)
            return set()

    async def _continue_instance(self, wait: storage.DueWaitRow) -> asyncio.Future[Any] | None:
        """Start the continuation of a parked instance whose wait is over (once, whoever asks);
        its end, when it runs in this process (None when it runs elsewhere)."""
        with SetWorkflowID(continuation_id(wait.instance_id, wait.stage)):
            handle = await DBOS.start_workflow_async(
                continued_instance_workflow,
                wait.instance_id,
                wait.config.get("stages") or [],
                wait.variables,
                wait.stage,
                wait.started_at.isoformat(),
                **run_options(),
            )
        return _running_here(handle)

    async def shutdown(self) -> None:
        _runtime.current().stopping = True
        await self._waker.close()
        if self._starter is not None:
            await self._starter.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.to_thread(DBOS.destroy, workflow_completion_timeout_sec=0)
        if self._shared:
            # After DBOS stopped running our instances: survivors may take them over now.
            await _takeover.release(self._db, self.executor_id)

    async def _start_lost_instances(self, created_before: datetime | None = None) -> None:
        """Start instances whose row was written but whose workflow never was: a crash between the
        two writes of a run request, or of a worker between taking an API-only server's request to
        start one and starting it."""
        async with self._db.read() as conn:
            unstarted = await storage.list_unstarted_instance_ids(conn, created_before)
        for chunk in _chunks(unstarted, 500):
            known = await DBOS.list_workflows_async(workflow_ids=chunk, load_input=False, load_output=False)
            known_ids = {w.workflow_id for w in known}
            lost = [instance_id for instance_id in chunk if instance_id not in known_ids]
            if not lost:
                continue
            async with self._db.read() as conn:
                to_start = await storage.instances_to_start(conn, lost)
            for instance in to_start:
                await self._start_from_row(instance, interrupted=True)

    async def _start_from_row(self, instance: storage.InstanceToStartRow, *, interrupted: bool = False) -> None:
        """Start an instance read from its stored row: run through an API-only server, or one whose
        start was `interrupted` (which is said). One ended meanwhile (aborted) is left as it is."""
        if instance.terminated:
            return
        if interrupted:
            log.warning("starting instance %s whose start was interrupted", instance.instance_id,
                        extra={"instance_id": instance.instance_id, "workflow_id": instance.workflow_id})
        await self.start_instance(instance.instance_id, instance.config.get("stages") or [], instance.variables)


def _running_here(handle: Any) -> asyncio.Future[Any] | None:
    """What runs a workflow just started, when it runs in this process: DBOS hands back the task
    that runs it, or, when the workflow exists already, a handle that polls the database."""
    running = getattr(handle, "task", None)
    return running if isinstance(running, asyncio.Future) else None


def migrate_engine(settings: StorageSettings) -> None:
    """Create or upgrade DBOS's tables (a worker also does it when it launches)."""
    DBOS.migrate(system_database_url(settings))


class EngineClient:
    """Where a process has no worker (`serve --worker=false`): the instances it runs are started by
    the workers, asked in the transaction that writes each instance's row (`Starter`)."""

    async def request_start(self, conn: storage.Connection, instance_id: str, now: datetime) -> None:
        await storage.request_start(conn, instance_id, now)

    async def start_instance(self, instance_id: str, stages: list[Any], variables: dict[str, str]) -> None:
        """A worker starts it: the request was written with its row."""

    def notify(self, instance_id: str, *, wait_due: bool = False) -> None:
        """Workers of other processes notice changes through their poller."""

    def watch(self, instance_id: str) -> AbstractContextManager[asyncio.Event | None]:
        """Nothing runs here to say when an instance ends."""
        return nullcontext(None)

    def problem(self) -> str | None:
        """Nothing runs here: the workers report for themselves."""
        return None

    async def shutdown(self) -> None:
        """Nothing runs here."""


def _use_wal(path: Path) -> None:
    """Put the engine's SQLite file in WAL mode (a setting the file keeps): the API
    reads while the engine writes, and a commit costs one sync instead of several."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def _sqlite_engine_kwargs(path: Path) -> dict[str, Any]:
    """DBOS's engine on its SQLite file, set as our own database is (`storage`): a commit does not
    wait for the disk (synchronous=NORMAL: in WAL mode a crash of the process loses nothing, a
    power cut at most the last commits, and a step whose checkpoint is lost runs again, as any
    step may), and a connection taken from the pool is not pinged first (a file does not hang
    up). DBOS's defaults, a sync per checkpoint and a ping per checkout, cost an instance of
    three steps a quarter of its throughput."""
    file = str(path.resolve())

    def connect() -> sqlite3.Connection:
        # DBOS's own connect hook still runs on it: write transactions IMMEDIATE, its busy timeout.
        connection = sqlite3.connect(file, check_same_thread=False)
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    return {"creator": connect, "pool_pre_ping": False}


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
