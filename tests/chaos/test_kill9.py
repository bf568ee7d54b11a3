"""SIGKILL the server at the durable points of an instance, restart it on the same
data, and check every instance ends exactly once with consistent stage rows."""

from __future__ import annotations

import signal
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from orchestration import storage
from tests.integration.helpers import create_workflow, get_instance, run, wait_stage, wait_terminated
from tests.testing.peek import Peek
from tests.testing.server import ServerProcess, eventually


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _assert_cleanly_finished(instance: dict[str, object], stages: int) -> None:
    assert instance["terminated"] is True and "error" not in instance, instance
    statuses = instance["status"]
    assert isinstance(statuses, list)
    assert [s["stage"] for s in statuses] == list(range(stages)), statuses
    assert all("terminatedAt" in s and "error" not in s for s in statuses), statuses


def test_kill_during_delay_resumes_with_the_original_deadline(new_server: ServerProcess) -> None:
    server = new_server.start()
    client = server.client()
    wf = create_workflow(client, [{"delay": {"duration": "3s"}}, {"noop": {}}])
    ids = [run(client, wf)["id"] for _ in range(5)]
    for inst in ids:
        wait_stage(client, inst, 0)
    server.kill()
    server.start()
    client = server.client()
    for inst in ids:
        done = wait_terminated(client, inst, timeout=30)
        _assert_cleanly_finished(done, 2)
        delay = done["status"][0]
        slept = (_ts(delay["terminatedAt"]) - _ts(delay["startedAt"])).total_seconds()
        # The deadline was recorded before the kill: no second full delay after restart.
        assert 3.0 <= slept < 5.5, slept


def test_a_parked_delay_whose_deadline_passed_during_the_downtime_ends_at_restart(new_server: ServerProcess) -> None:
    server = new_server.start()
    client = server.client()
    wf = create_workflow(client, [{"delay": {"duration": "6s"}}, {"noop": {}}])
    ids = [run(client, wf)["id"] for _ in range(5)]
    with Peek(server) as peek:
        for inst in ids:
            eventually(lambda inst=inst: peek.waits(inst), bool, what=f"{inst} to park")
    server.kill()
    time.sleep(7)
    restarted = time.monotonic()
    server.start()
    client = server.client()
    for inst in ids:
        _assert_cleanly_finished(wait_terminated(client, inst, timeout=30), 2)
    # Woken by the first poll after the start, not by a timer of the dead process.
    assert time.monotonic() - restarted < 10


def test_kill_during_a_continuation_finishes_it_once(new_server: ServerProcess) -> None:
    server = new_server.start()
    client = server.client()
    wf = create_workflow(client, [{"wait_event": {"event": "go"}}, {"delay": {"duration": "2s"}}, {"noop": {}}])
    ids = [run(client, wf)["id"] for _ in range(5)]
    with Peek(server) as peek:
        for inst in ids:
            eventually(lambda inst=inst: peek.waits(inst), bool, what=f"{inst} to park")
        for inst in ids:
            assert client.post(f"/instances/{inst}/events", json={"name": "go"}).status_code == 204
        for inst in ids:
            wait_stage(client, inst, 1)  # the continuation runs: in the short delay, in memory
        server.kill()
        server.start()
        client = server.client()
        for inst in ids:
            _assert_cleanly_finished(wait_terminated(client, inst, timeout=30), 3)
            eventually(lambda inst=inst: peek.workflow_status(f"{inst}:0"), lambda s: s == "SUCCESS")


def test_kill_during_wait_event_keeps_waiting_and_keeps_sent_events(new_server: ServerProcess) -> None:
    server = new_server.start()
    client = server.client()
    wf = create_workflow(client, [{"wait_event": {"event": "a"}}, {"wait_event": {"event": "b"}}])
    ids = [run(client, wf)["id"] for _ in range(5)]
    for inst in ids:
        wait_stage(client, inst, 0)
        assert client.post(f"/instances/{inst}/events", json={"name": "b"}).status_code == 204
    server.kill()
    server.start()
    client = server.client()
    time.sleep(0.5)
    assert all(get_instance(client, i)["terminated"] is False for i in ids)
    for inst in ids:
        assert client.post(f"/instances/{inst}/events", json={"name": "a"}).status_code == 204
    for inst in ids:
        _assert_cleanly_finished(wait_terminated(client, inst, timeout=30), 2)


def test_kill_between_stages_finishes_every_instance_once(new_server: ServerProcess) -> None:
    server = new_server.start()
    client = server.client()
    stages = 20
    wf = create_workflow(client, [{"noop": {}}] * stages)
    ids = [run(client, wf)["id"] for _ in range(20)]
    # Kill while some instances are somewhere in the middle of their stages.
    eventually(
        lambda: [len(get_instance(client, i).get("status", [])) for i in ids],
        lambda counts: any(0 < c for c in counts),
        what="an instance to be between stages",
    )
    server.kill()
    server.start()
    client = server.client()
    for inst in ids:
        _assert_cleanly_finished(wait_terminated(client, inst, timeout=60), stages)


def test_abort_after_restart_stops_a_recovered_instance(new_server: ServerProcess) -> None:
    server = new_server.start()
    client = server.client()
    wf = create_workflow(client, [{"delay": {"duration": "1h"}}, {"noop": {}}])
    inst = run(client, wf)["id"]
    wait_stage(client, inst, 0)
    server.kill()
    server.start()
    client = server.client()
    assert client.put(f"/instances/{inst}/abort").status_code == 204
    done = wait_terminated(client, inst, timeout=2)
    assert done["error"] == "canceled" and [s["error"] for s in done["status"]] == ["canceled"]


def test_instance_row_written_just_before_a_crash_is_started_on_restart(new_server: ServerProcess) -> None:
    server = new_server.start()
    wf = create_workflow(server.client(), [{"noop": {}}])
    server.kill()
    # The state a crash leaves between "instance row inserted" and "workflow started".
    url = storage.database_url(postgres_uri=server.postgres_uri, data_dir=server.data_dir, driver="sync")
    engine = sa.create_engine(url)
    instance_id = str(uuid.uuid4())
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO workflow_instances (id, workflow_id, created_at, updated_at, terminated, variables)"
                " VALUES (:id, :wf, :now, :now, false, '{}')"
            ),
            {"id": instance_id, "wf": wf, "now": now},
        )
    engine.dispose()
    server.start()
    _assert_cleanly_finished(wait_terminated(server.client(), instance_id, timeout=30), 1)


def test_clean_shutdown_then_restart_loses_nothing(new_server: ServerProcess) -> None:
    server = new_server.start()
    client = server.client()
    wf = create_workflow(client, [{"delay": {"duration": "1s"}}, {"wait_event": {"event": "go"}}])
    inst = run(client, wf)["id"]
    wait_stage(client, inst, 0)
    # uvicorn re-raises SIGTERM once its graceful shutdown is done.
    assert server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log_tail()
    server.start()
    client = server.client()
    wait_stage(client, inst, 1)
    client.post(f"/instances/{inst}/events", json={"name": "go"})
    _assert_cleanly_finished(wait_terminated(client, inst), 2)
