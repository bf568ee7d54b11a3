"""Scale-out on PostgreSQL: API-only servers, several workers, and a worker that dies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import create_workflow, get_instance, run, wait_terminated
from tests.testing.peek import Peek
from tests.testing.postgres import PostgresServer
from tests.testing.server import ServerProcess, eventually


@pytest.fixture
def pg_uri(postgres: PostgresServer) -> str:
    return postgres.create_database(f"w_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def cluster(pg_uri: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, list[ServerProcess]]]:
    api = ServerProcess(data_dir=tmp_path / "api", postgres_uri=pg_uri, extra_args=["--worker=false"])
    workers = [
        ServerProcess(
            data_dir=tmp_path / f"w{n}", postgres_uri=pg_uri, command="worker", extra_args=["--executor-id", f"w{n}"]
        )
        for n in range(2)
    ]
    api.start()
    for worker in workers:
        worker.start()
    yield api, workers
    for process in [api, *workers]:
        process.stop()


def test_api_only_server_hands_instances_to_workers(cluster: tuple[ServerProcess, list[ServerProcess]]) -> None:
    api, _ = cluster
    client = api.client()
    wf = create_workflow(client, [{"noop": {}}, {"wait_event": {"event": "go"}}])
    ids = [run(client, wf)["id"] for _ in range(10)]
    for inst in ids:
        eventually(lambda inst=inst: get_instance(client, inst).get("status", []), lambda s: len(s) == 2, timeout=20)
        assert client.post(f"/instances/{inst}/events", json={"name": "go"}).status_code == 204
    for inst in ids:
        done = wait_terminated(client, inst, timeout=20)
        assert "error" not in done and len(done["status"]) == 2


def test_instances_of_a_killed_worker_are_taken_over(cluster: tuple[ServerProcess, list[ServerProcess]]) -> None:
    api, workers = cluster
    client = api.client()
    wf = create_workflow(client, [{"delay": {"duration": "2s"}}, {"noop": {}}])
    ids = [run(client, wf)["id"] for _ in range(10)]
    for inst in ids:
        eventually(lambda inst=inst: get_instance(client, inst).get("status", []), bool, timeout=20)
    workers[0].kill()  # whatever it was running must be finished by the other one
    for inst in ids:
        done = wait_terminated(client, inst, timeout=30)
        assert "error" not in done and [s["stage"] for s in done["status"]] == [0, 1]
        assert all("terminatedAt" in s for s in done["status"])


def test_a_delay_parked_by_a_killed_worker_is_woken_by_another(
    cluster: tuple[ServerProcess, list[ServerProcess]],
) -> None:
    api, workers = cluster
    client = api.client()
    wf = create_workflow(client, [{"delay": {"duration": "6s"}}, {"noop": {}}])
    ids = [run(client, wf)["id"] for _ in range(10)]
    with Peek(api) as peek:
        for inst in ids:
            eventually(lambda inst=inst: peek.waits(inst), bool, timeout=20, what=f"{inst} to park")
    workers[0].kill()
    for inst in ids:
        done = wait_terminated(client, inst, timeout=30)
        assert "error" not in done and [s["stage"] for s in done["status"]] == [0, 1]


def test_abort_through_an_api_only_server_stops_a_worker_instance(
    cluster: tuple[ServerProcess, list[ServerProcess]],
) -> None:
    api, _ = cluster
    client = api.client()
    wf = create_workflow(client, [{"wait_event": {"event": "never"}}, {"noop": {}}])
    inst = run(client, wf)["id"]
    eventually(lambda: get_instance(client, inst).get("status", []), bool, timeout=20)
    assert client.put(f"/instances/{inst}/abort").status_code == 204
    done = wait_terminated(client, inst, timeout=2)
    assert done["error"] == "canceled" and len(done["status"]) == 1
