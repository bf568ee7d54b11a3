"""The in-process engine harness (tests/testing/engine.py): one real engine at a time,
driven through the service layer, gone without a trace when it stops."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from dbos import DBOS

from orchestration.config import Settings
from orchestration.engine import DataDirLock
from tests.conftest import StartEngine
from tests.testing.engine import FAST_ENGINE, FAST_RETRY, EngineBusy, EngineHarness, EventRow, fast_settings
from tests.testing.fake_stack import FakeStack


def test_fast_settings_poll_often_park_soon_and_retry_quickly(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path, postgres_uri="postgresql://db/x", park_after=timedelta(hours=1))
    assert settings.storage.postgres_uri == "postgresql://db/x" and settings.storage.data_dir == tmp_path
    assert settings.engine.signal_poll_interval == timedelta(milliseconds=10)
    assert settings.engine.park_after == timedelta(hours=1)  # the one asked for; the others stay fast
    assert settings.engine.look_ahead_interval == FAST_ENGINE.look_ahead_interval
    assert FAST_ENGINE.look_ahead_interval < Settings().engine.look_ahead_interval
    assert settings.retry == FAST_RETRY and settings.retry.initial_interval < Settings().retry.initial_interval
    assert settings.stack.url == "" and settings.stack.client_id == ""


async def test_an_instance_runs_through_the_service_layer(engine: EngineHarness) -> None:
    # A stage that runs after the wait: a continuation workflow, not an end in place.
    instance_id = await engine.run([{"noop": {}}, {"wait_event": {"event": "go"}}, {"delay": {"duration": "10ms"}}])
    wait = await engine.parked(instance_id)
    assert (wait.stage, wait.event) == (1, "go")
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and [s.stage for s in done.stages or []] == [0, 1, 2]
    assert await engine.events(instance_id) == [EventRow("go", consumed_by_stage=1)]
    await engine.wait_workflow(f"{instance_id}:1", "SUCCESS")


async def test_a_second_engine_is_refused_while_one_runs(engine: EngineHarness, tmp_path: Path) -> None:
    other = EngineHarness(fast_settings(tmp_path / "other"))
    with pytest.raises(EngineBusy):
        await other.start()
    # The refusal left the running engine alone.
    done = await engine.wait_terminated(await engine.run([{"noop": {}}]))
    assert done.instance.error is None


async def test_a_stopped_engine_leaves_the_process_to_the_next_one(tmp_path: Path) -> None:
    async with EngineHarness.running(tmp_path / "first") as first:
        waiting = await first.run([{"wait_event": {"event": "go"}}])
        await first.parked(waiting)
    assert first.settings.storage.data_dir.joinpath("orchestration.sqlite").exists()
    # The data directory is free again, and DBOS is gone until the next engine builds its own.
    DataDirLock.acquire(tmp_path / "first").release()
    with pytest.raises(Exception, match="DBOS"):
        await DBOS.get_workflow_status_async(waiting)
    async with EngineHarness.running(tmp_path / "second") as second:
        assert await second.workflow_status(waiting) is None  # nothing of the first engine's data
        done = await second.wait_terminated(await second.run([{"noop": {}}]))
        assert done.instance.error is None


async def test_a_restart_recovers_an_instance_that_waited_in_memory(start_engine: StartEngine) -> None:
    engine = await start_engine(park_after=timedelta(hours=1))  # nothing parks: the wait is in the workflow
    # After a stage that needs the workflow (a delay too short to park): an instance that starts
    # with a wait is parked at once, with no workflow.
    instance_id = await engine.run([{"delay": {"duration": "1ms"}}, {"wait_event": {"event": "go"}}, {"noop": {}}])
    await engine.wait_stage(instance_id, 1)
    await engine.restart()
    # Left as a killed process leaves it: unfinished, not parked; only recovery can finish it.
    assert await engine.waits(instance_id) == [] and not (await engine.instance(instance_id)).instance.terminated
    await engine.instances.send_event(instance_id, "go")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None and len(done.stages or []) == 3


async def test_a_stack_url_reaches_the_fake_gateway(start_engine: StartEngine) -> None:
    ledger = f"h-{uuid.uuid4().hex[:8]}"
    with FakeStack() as stack:
        stack.create_ledger(ledger)
        engine = await start_engine(stack_url=stack.url)
        send = {
            "source": {"account": {"id": "world", "ledger": ledger}},
            "destination": {"account": {"id": "bank", "ledger": ledger}},
            "amount": {"amount": 42, "asset": "USD/2"},
        }
        done = await engine.wait_terminated(await engine.run([{"send": send}]))
        assert done.instance.error is None
        assert stack.balance(ledger, "bank", "USD/2") == 42
        [call] = stack.requests("POST", f"/api/ledger/v2/{ledger}/transactions")
        assert call.headers["authorization"].startswith("Bearer ")  # through the OAuth path


async def test_an_engine_that_fails_to_start_leaves_the_process_to_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse() -> None:
        raise RuntimeError("the engine refused to launch")

    failing = EngineHarness(fast_settings(tmp_path / "failing"))
    with monkeypatch.context() as patch:
        patch.setattr("orchestration.engine._engine.Engine._start_lost_instances", lambda self: refuse())
        with pytest.raises(RuntimeError, match="refused to launch"):
            await failing.start()
    DataDirLock.acquire(tmp_path / "failing").release()
    async with EngineHarness.running(tmp_path / "next") as engine:
        instance_id = await engine.run([{"delay": {"duration": "10ms"}}])  # a workflow (a noop would not need one)
        await engine.wait_workflow(instance_id, "SUCCESS")
    # DBOS was the next engine's own, built on its data directory, not the failed one's.
    for data_dir, recorded in (("next", [(instance_id,)]), ("failing", [])):
        with closing(sqlite3.connect(tmp_path / data_dir / "engine.sqlite")) as conn:
            query = "SELECT workflow_uuid FROM workflow_status WHERE workflow_uuid = ?"
            assert conn.execute(query, (instance_id,)).fetchall() == recorded
