"""`Peek` reads what the API does not show, from the databases of a server (here, of an
engine in this process: the same files and schemas)."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import StartEngine
from tests.testing.engine import EngineHarness
from tests.testing.peek import Peek
from tests.testing.server import ServerProcess


async def test_peek_sees_parked_waits_events_and_engine_workflows(engine: EngineHarness) -> None:
    # Parked by its workflow, after a stage that needs one (a delay too short to park).
    instance_id = await engine.run([{"delay": {"duration": "1ms"}}, {"wait_event": {"event": "go"}}])
    await engine.parked(instance_id)
    await engine.instances.send_event(instance_id, "other")
    await engine.wait_workflow(instance_id, "SUCCESS")
    storage = engine.settings.storage
    with Peek(ServerProcess(data_dir=storage.data_dir, postgres_uri=storage.postgres_uri)) as peek:
        [wait] = peek.waits(instance_id)
        assert (wait["stage"], wait["event"], wait["woken_at"]) == (1, "go", None)
        assert peek.events(instance_id) == [("other", None)]
        assert peek.workflow_status(instance_id) == "SUCCESS"
        assert peek.workflow_status(f"{instance_id}:1") is None
        assert peek.running_executors() == set()  # the workflow has ended, and nothing else runs
        assert peek.waits("nobody") == [] and peek.events("nobody") == []


async def test_peek_sees_which_executor_runs_a_workflow(start_engine: StartEngine) -> None:
    engine = await start_engine(park_after=timedelta(hours=1))  # the wait stays in its workflow
    instance_id = await engine.run([{"delay": {"duration": "1ms"}}, {"wait_event": {"event": "go"}}])
    await engine.wait_stage(instance_id, 1)
    storage = engine.settings.storage
    with Peek(ServerProcess(data_dir=storage.data_dir, postgres_uri=storage.postgres_uri)) as peek:
        assert peek.running_executors() == {engine.engine.executor_id}
        await engine.instances.send_event(instance_id, "go")
        await engine.wait_workflow(instance_id, "SUCCESS")
        assert peek.running_executors() == set()
