"""DBOS's background threads run as the engine sets them: the names it replaces are the ones DBOS
launches, and nothing it stops is needed by the engine."""

from __future__ import annotations

import functools
import inspect
import threading

import dbos._dbos
import dbos._queue
import dbos._scheduler
from dbos import DBOS

from orchestration.engine import _dbos_pacing, _queue_polls
from orchestration.service import WorkflowService
from tests.testing.engine import EngineHarness
from tests.testing.waiting import assert_eventually


def test_dbos_launches_what_the_engine_replaces_under_the_names_it_replaces() -> None:
    # Were any renamed by a release of DBOS, its polls would silently be DBOS's own again.
    launch = inspect.getsource(dbos._dbos.DBOS._launch)
    assert "target=background_jobs_thread," in launch
    # The manager of the queues, and recovery, as launch starts them: replaced in `_queue_polls`.
    assert "target=queue_thread, args=(evt, self)" in launch
    assert "submit(startup_recovery_thread, self, workflow_ids)" in launch
    # A worker waits on its stop event between polls: `QueuePace` stands for it.
    worker = inspect.getsource(dbos._queue.queue_worker_thread)
    assert "stop_event.wait(timeout=" in worker and "stop_event.is_set()" in worker
    assert dbos._queue._INTERNAL_QUEUE_CONSTRUCTION is not None
    scheduler = inspect.getsource(dbos._scheduler.dynamic_scheduler_loop)
    assert "_STARTUP_FAST_POLL_DURATION_SEC" in scheduler


def _threads(prefix: str) -> set[str]:
    return {thread.name for thread in threading.enumerate() if thread.name.startswith(prefix)}


async def test_a_launched_engine_polls_its_queues_at_its_own_pace_and_runs_no_background_jobs(
    engine: EngineHarness,
) -> None:
    assert isinstance(dbos._dbos.queue_thread, functools.partial)
    assert dbos._dbos.queue_thread.func is _queue_polls._manage
    expected = {"_dbos_internal_queue"}
    if not engine.settings.storage.embedded:  # takeovers queue there
        expected.add("orchestration-instances")
    [polled] = dbos._dbos.queue_thread.args
    assert {queue.name for queue, _ in polled} == expected
    # Those of an engine stopped earlier in this process may not have ended yet.
    assert {f"queue-worker-{name}" for name in expected} <= _threads("queue-worker-")
    assert dbos._dbos.background_jobs_thread is _dbos_pacing._no_background_jobs
    await assert_eventually(lambda: _threads("dbos-background-jobs"), lambda alive: not alive, what="no jobs thread")
    assert dbos._scheduler._STARTUP_FAST_POLL_DURATION_SEC == 0


async def test_the_engine_starts_no_workflow_with_a_delay_or_a_timeout(engine: EngineHarness) -> None:
    # What DBOS's background jobs were for: without them, such a workflow would never start, or never time out.
    stages = [{"delay": {"duration": "1ms"}}, {"wait_event": {"event": "go"}}, {"delay": {"duration": "1ms"}}]
    workflow_id = (await WorkflowService(engine.db).create({"name": "", "stages": stages})).id
    instance_id = (await engine.instances.run(workflow_id, {}, wait=False)).instance.id
    await assert_eventually(lambda: engine.waits(instance_id), bool, what="the instance parked")
    await engine.instances.send_event(instance_id, "go")
    assert (await engine.wait_terminated(instance_id)).instance.error is None
    started = await DBOS.list_workflows_async(load_input=False, load_output=False)
    ours = [status for status in started if status.workflow_id.startswith(instance_id)]
    assert len(ours) == 2  # the instance's workflow, and the continuation after its wait
    assert all(status.workflow_timeout_ms is None and status.workflow_deadline_epoch_ms is None for status in ours)
