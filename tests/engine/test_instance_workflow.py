"""The instance workflow runs the stages in order and ends the instance with the first
stage error (spec §4.2); a bad stage leaves a history entry with its error (Q-24) and a
warning in the log."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from orchestration import storage
from orchestration.engine import _instance_workflow
from tests.testing.engine import EngineHarness

INSTANCE_LOG = "orchestration.engine._instance_workflow"


async def test_stages_run_in_order_and_each_leaves_a_finished_row(engine: EngineHarness) -> None:
    done = await engine.wait_terminated(await engine.run([{"noop": {}}] * 10))
    assert done.instance.error is None and done.instance.terminated_at is not None
    stages = done.stages or []
    assert [s.stage for s in stages] == list(range(10))
    assert all(s.terminated_at is not None and s.error is None and s.name == "RunNoop" for s in stages)
    assert [s.started_at for s in stages] == sorted(s.started_at for s in stages)


async def test_instant_stages_take_no_step_of_their_own(engine: EngineHarness) -> None:
    # Noops are recorded with the next stage that runs, or with the instance's end: one `advance` each time.
    from dbos import DBOS

    instance_id = await engine.run([{"noop": {}}, {"noop": {}}, {"delay": {"duration": "1ms"}}, {"noop": {}},
                                    {"noop": {}}])
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None
    assert [(s.stage, s.name, s.terminated_at is not None) for s in done.stages or []] == [
        (0, "RunNoop", True), (1, "RunNoop", True), (2, "RunDelay", True), (3, "RunNoop", True),
        (4, "RunNoop", True)]
    await engine.wait_workflow(instance_id, "SUCCESS")
    steps = [step["function_name"] for step in await DBOS.list_workflow_steps_async(instance_id)]
    # Start noops and the delay; end the delay, record the noops and the end. The delay, brief, is
    # slept without a step.
    assert steps == ["orchestration.advance", "orchestration.advance"]


async def test_a_delay_longer_than_a_brief_sleep_takes_a_step(
    engine: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbos import DBOS

    monkeypatch.setattr(_instance_workflow, "BRIEF_SLEEP", timedelta(0))  # 1 ms is longer
    instance_id = await engine.run([{"delay": {"duration": "1ms"}}, {"noop": {}}])
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and all(s.terminated_at is not None for s in done.stages or [])
    await engine.wait_workflow(instance_id, "SUCCESS")
    steps = [step["function_name"] for step in await DBOS.list_workflow_steps_async(instance_id)]
    assert steps == ["orchestration.advance", "orchestration.sleep_until", "orchestration.advance"]


async def test_an_empty_workflow_ends_without_stages(engine: EngineHarness) -> None:
    done = await engine.wait_terminated(await engine.run([]))
    assert done.instance.error is None and done.stages == []


async def test_variables_are_interpolated_into_the_stage_history(engine: EngineHarness) -> None:
    done = await engine.wait_terminated(await engine.run([{"delay": {"duration": "${d}"}}], {"d": "20ms"}))
    assert done.instance.error is None
    [stage] = await engine.instances.history(done.instance.id)
    assert (stage.name, stage.input) == ("RunDelay", {"duration": "20ms"})
    assert stage.terminated_at is not None and stage.terminated_at >= stage.started_at


async def test_a_stage_that_does_not_resolve_fails_with_its_history_entry_and_a_warning(
    engine: EngineHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=INSTANCE_LOG)
    instance_id = await engine.run([{"noop": {}}, {"delay": {"duration": "${d}"}}, {"noop": {}}], {"d": "xyz"})
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is not None and "Duration" in done.instance.error
    assert [(s.stage, s.error) for s in done.stages or []] == [(0, None), (1, done.instance.error)]
    failed = (done.stages or [])[1]
    assert failed.name == "RunDelay" and failed.terminated_at is not None  # Q-24 fixed
    [record] = [r for r in caplog.records if r.name == INSTANCE_LOG]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == f"instance {instance_id} stage 1 failed: {done.instance.error}"


async def test_a_stage_of_unknown_type_fails_the_instance(engine: EngineHarness) -> None:
    # Created through storage: the service refuses such a definition, an older
    # release might not have.
    workflow_id, now = str(uuid.uuid4()), datetime.now(UTC)
    async with engine.db.begin() as conn:
        await storage.insert_workflow(
            conn,
            storage.WorkflowRow(
                id=workflow_id, config={"stages": [{"teleport": {}}]}, created_at=now, updated_at=now, deleted_at=None
            ),
        )
    view = await engine.instances.run(workflow_id, {}, wait=False)
    done = await engine.wait_terminated(view.instance.id)
    assert done.instance.error and [s.error for s in done.stages or []] == [done.instance.error]


async def test_many_instances_started_at_once_all_finish(engine: EngineHarness) -> None:
    workflow_id = await engine.create_workflow([{"noop": {}}, {"noop": {}}])
    views = await asyncio.gather(*(engine.instances.run(workflow_id, {}, wait=False) for _ in range(30)))
    for view in views:
        done = await engine.wait_terminated(view.instance.id)
        assert done.instance.error is None and len(done.stages or []) == 2


async def test_an_instance_whose_start_was_interrupted_runs_when_the_engine_starts(engine: EngineHarness) -> None:
    workflow_id = await engine.create_workflow([{"noop": {}}])
    await engine.stop()
    # What a crash leaves between "instance row inserted" and "workflow started".
    instance_id, now = str(uuid.uuid4()), datetime.now(UTC)
    async with engine.database() as db, db.begin() as conn:
        await storage.insert_instance(
            conn,
            storage.InstanceRow(
                id=instance_id, workflow_id=workflow_id, created_at=now, updated_at=now, terminated=False,
                terminated_at=None, error=None, variables={},
            ),
        )
    await engine.start()
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and [s.stage for s in done.stages or []] == [0]
