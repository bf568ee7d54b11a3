"""Long waits park the instance: no engine workflow holds it while it waits, and a
continuation takes it on when its event comes, its deadline passes or never (abort)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from tests.integration.helpers import create_workflow, get_instance, run, wait_stage, wait_terminated
from tests.testing.peek import Peek
from tests.testing.server import ServerProcess, eventually


@pytest.fixture
def client(api_server: ServerProcess) -> httpx.Client:
    return api_server.client()


@pytest.fixture
def peek(api_server: ServerProcess) -> Iterator[Peek]:
    with Peek(api_server) as peek:
        yield peek


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _parked(peek: Peek, instance_id: str) -> list[dict[str, object]]:
    return eventually(lambda: peek.waits(instance_id), bool, what=f"{instance_id} to park")


def _ends(peek: Peek, workflow_id: str) -> None:
    """The engine records a workflow's end just after its last step."""
    eventually(lambda: peek.workflow_status(workflow_id), lambda s: s == "SUCCESS", what=f"{workflow_id} to end")


def test_a_wait_event_parks_and_the_event_continues_it(client: httpx.Client, peek: Peek) -> None:
    wf = create_workflow(client, [{"noop": {}}, {"wait_event": {"event": "go"}}, {"noop": {}}])
    inst = run(client, wf)["id"]
    [wait] = _parked(peek, inst)
    assert wait["stage"] == 1 and wait["event"] == "go" and wait["wake_at"] is None and wait["woken_at"] is None
    # Nothing of the engine holds the instance while it waits.
    _ends(peek, inst)
    assert peek.workflow_status(f"{inst}:1") is None
    assert get_instance(client, inst)["terminated"] is False

    assert client.post(f"/instances/{inst}/events", json={"name": "other"}).status_code == 204
    time.sleep(1.0)  # two polls: an event of another name wakes nothing
    assert peek.workflow_status(f"{inst}:1") is None and peek.waits(inst)[0]["woken_at"] is None
    assert client.post(f"/instances/{inst}/events", json={"name": "go"}).status_code == 204
    done = wait_terminated(client, inst)
    assert "error" not in done and [s["stage"] for s in done["status"]] == [0, 1, 2]
    assert all("terminatedAt" in s and "error" not in s for s in done["status"])
    _ends(peek, f"{inst}:1")
    assert peek.waits(inst) == []  # forgotten when the instance ended
    history = client.get(f"/instances/{inst}/history").json()["data"]
    assert [h["name"] for h in history] == ["RunNoop", "RunWaitEvent", "RunNoop"]


def test_an_event_already_there_is_taken_without_parking(client: httpx.Client, peek: Peek) -> None:
    wf = create_workflow(client, [{"delay": {"duration": "300ms"}}, {"wait_event": {"event": "go"}}])
    inst = run(client, wf)["id"]
    assert client.post(f"/instances/{inst}/events", json={"name": "go"}).status_code == 204
    assert "error" not in wait_terminated(client, inst)
    assert peek.workflow_status(f"{inst}:1") is None


def test_an_event_that_comes_soon_is_taken_without_parking(client: httpx.Client, peek: Peek) -> None:
    wf = create_workflow(client, [{"wait_event": {"event": "go"}}])
    inst = run(client, wf)["id"]
    wait_stage(client, inst, 0)
    time.sleep(1.0)
    assert peek.waits(inst) == []
    assert client.post(f"/instances/{inst}/events", json={"name": "go"}).status_code == 204
    assert "error" not in wait_terminated(client, inst)
    assert peek.workflow_status(f"{inst}:0") is None


def test_a_long_delay_parks_and_ends_at_its_deadline(client: httpx.Client, peek: Peek) -> None:
    wf = create_workflow(client, [{"delay": {"duration": "6s"}}, {"noop": {}}])
    inst = run(client, wf)["id"]
    [wait] = _parked(peek, inst)
    assert wait["event"] is None and wait["wake_at"] is not None
    done = wait_terminated(client, inst, timeout=20)
    assert "error" not in done
    delay = done["status"][0]
    slept = (_ts(delay["terminatedAt"]) - _ts(delay["startedAt"])).total_seconds()
    assert 6.0 <= slept < 7.5, slept
    _ends(peek, f"{inst}:0")


def test_a_short_delay_waits_in_memory(client: httpx.Client, peek: Peek) -> None:
    wf = create_workflow(client, [{"delay": {"duration": "2s"}}])
    inst = run(client, wf)["id"]
    wait_stage(client, inst, 0)
    assert peek.waits(inst) == []
    assert "error" not in wait_terminated(client, inst)
    assert peek.workflow_status(f"{inst}:0") is None


@pytest.mark.parametrize("stage", [{"wait_event": {"event": "go"}}, {"delay": {"duration": "1h"}}])
def test_abort_ends_a_parked_instance_at_once(client: httpx.Client, peek: Peek, stage: dict[str, object]) -> None:
    wf = create_workflow(client, [stage, {"noop": {}}])
    inst = run(client, wf)["id"]
    _parked(peek, inst)
    assert client.put(f"/instances/{inst}/abort").status_code == 204
    done = get_instance(client, inst)
    assert done["terminated"] is True and done["error"] == "canceled"
    assert [s["error"] for s in done["status"]] == ["canceled"]
    assert peek.waits(inst) == []
    # An event after the abort is refused and wakes nothing.
    assert client.post(f"/instances/{inst}/events", json={"name": "go"}).status_code == 400
    assert peek.workflow_status(f"{inst}:0") is None
