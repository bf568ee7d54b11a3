"""SIGKILL the server while instances sit at the durable points of their life, restart it on
the same data, and check every instance ends exactly once with consistent stage rows.

One kill serves several tests: the module's `crash` fixture puts instances in each state,
kills the server, and starts it again; each test then checks one kind of instance.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.helpers import create_workflow, get_instance, run, wait_stage, wait_terminated
from tests.testing.peek import Peek
from tests.testing.server import ServerProcess, eventually

# Held in memory until the kill (--park-after is longer). The server comes back with a
# --park-after of 100 ms: the recovered delay then parks, and its row shows the deadline
# it sleeps to.
DELAY = timedelta(hours=1)
STEPS = 20
IN_MEMORY, PARKING = ["--park-after", "7200"], ["--park-after", "0.1"]


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _assert_cleanly_finished(instance: dict[str, object], stages: int) -> None:
    assert instance["terminated"] is True and "error" not in instance, instance
    statuses = instance["status"]
    assert isinstance(statuses, list)
    assert [s["stage"] for s in statuses] == list(range(stages)), statuses
    assert all("terminatedAt" in s and "error" not in s for s in statuses), statuses


@dataclass
class Crash:
    server: ServerProcess
    sleeping: list[str]
    """In a `DELAY` held in memory at the kill, parked after the restart."""
    waiting: list[str]
    """Waiting in memory for event "a" in their second stage at the kill (the first, a short delay,
    needs their workflow), with "b", for their next stage, already sent; "a" is sent after the
    restart, at `a_sent`."""
    parked: list[str]
    """Started just before the kill with a wait for "a", so parked at their start with no
    workflow; "a" is sent after the restart."""
    stepping: list[str]
    """Somewhere in their `STEPS` noops at the kill."""
    a_sent: datetime


@pytest.fixture(scope="module")
def crash(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crash]:
    uri = None
    if backend == "postgres":
        uri = request.getfixturevalue("postgres").create_database(f"k_{uuid.uuid4().hex[:12]}")
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp(f"kill9-{backend}"), postgres_uri=uri, extra_args=IN_MEMORY
    ).start()
    client = server.client()
    sleep = create_workflow(client, [{"delay": {"duration": "1h"}}, {"noop": {}}])
    wait = create_workflow(
        client, [{"delay": {"duration": "1ms"}}, {"wait_event": {"event": "a"}}, {"wait_event": {"event": "b"}}]
    )
    park = create_workflow(client, [{"wait_event": {"event": "a"}}, {"noop": {}}])
    steps = create_workflow(client, [{"noop": {}}] * STEPS)
    sleeping = [run(client, sleep)["id"] for _ in range(5)]
    waiting = [run(client, wait)["id"] for _ in range(5)]
    for inst in sleeping:
        wait_stage(client, inst, 0)
    for inst in waiting:
        wait_stage(client, inst, 1)
        assert client.post(f"/instances/{inst}/events", json={"name": "b"}).status_code == 204
    stepping = [run(client, steps)["id"] for _ in range(10)]
    eventually(
        lambda: [len(get_instance(client, i).get("status", [])) for i in stepping],
        lambda counts: any(0 < c for c in counts),
        what="an instance to be between stages",
    )
    parked = [run(client, park)["id"] for _ in range(10)]
    server.kill()
    server.extra_args = PARKING
    server.start()
    client = server.client()
    a_sent = datetime.now(UTC)
    for inst in [*waiting, *parked]:
        assert client.post(f"/instances/{inst}/events", json={"name": "a"}).status_code == 204
    yield Crash(server, sleeping, waiting, parked, stepping, a_sent)
    server.stop()


def test_a_delay_sleeping_at_the_kill_keeps_its_original_deadline(crash: Crash) -> None:
    client = crash.server.client()
    with Peek(crash.server) as peek:
        for inst in crash.sleeping:
            [wait] = eventually(lambda inst=inst: peek.waits(inst), bool, what=f"{inst} to be recovered and park")
            [delay] = get_instance(client, inst)["status"]
            # The deadline recorded before the kill, not one counted again from the restart.
            assert wait["wake_at"] == _ts(delay["startedAt"]) + DELAY
            assert "terminatedAt" not in delay


def test_a_wait_event_waiting_at_the_kill_keeps_waiting_and_keeps_sent_events(crash: Crash) -> None:
    client = crash.server.client()
    with Peek(crash.server) as peek:
        for inst in crash.waiting:
            done = wait_terminated(client, inst, timeout=30)
            _assert_cleanly_finished(done, 3)
            # Stage 1 waited through the restart for its own event; "b", kept, went to stage 2.
            assert _ts(done["status"][1]["terminatedAt"]) >= crash.a_sent
            assert peek.events(inst) == [("b", 2), ("a", 1)]


def test_instances_parked_at_their_start_at_the_kill_are_continued_once_by_their_event(crash: Crash) -> None:
    client = crash.server.client()
    with Peek(crash.server) as peek:
        for inst in crash.parked:
            done = wait_terminated(client, inst, timeout=30)
            _assert_cleanly_finished(done, 2)
            assert _ts(done["status"][0]["terminatedAt"]) >= crash.a_sent
            assert peek.events(inst) == [("a", 0)]
            assert peek.workflow_status(inst) is None  # parked at its start, in place


def test_instances_between_stages_at_the_kill_finish_every_stage_once(crash: Crash) -> None:
    client = crash.server.client()
    for inst in crash.stepping:
        _assert_cleanly_finished(wait_terminated(client, inst, timeout=60), STEPS)


def test_kill_during_a_continuation_finishes_it_once(new_server: ServerProcess) -> None:
    new_server.extra_args += ["--park-after", "1"]  # the wait parks after a second; the delay, shorter, does not
    server = new_server.start()
    client = server.client()
    wf = create_workflow(client, [{"wait_event": {"event": "go"}}, {"delay": {"duration": "900ms"}}, {"noop": {}}])
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


def test_kill_during_a_brief_sleep_finishes_it_once(new_server: ServerProcess) -> None:
    server = new_server.start()
    client = server.client()
    # Brief: slept in memory with no step of its own; the noop first makes it the workflow's.
    wf = create_workflow(client, [{"noop": {}}, {"delay": {"duration": "1s"}}, {"noop": {}}])
    ids = [run(client, wf)["id"] for _ in range(3)]
    for inst in ids:
        wait_stage(client, inst, 1)
    killed_at = datetime.now(UTC)
    server.kill()
    server.start()
    client = server.client()
    done = [wait_terminated(client, inst, timeout=30) for inst in ids]
    for instance in done:
        _assert_cleanly_finished(instance, 3)
    # The kill came during the sleep: the restarted workflow ended it.
    assert any(_ts(instance["status"][1]["terminatedAt"]) > killed_at for instance in done)
    with Peek(server) as peek:
        for inst in ids:
            eventually(lambda inst=inst: peek.workflow_status(inst), lambda s: s == "SUCCESS")


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
