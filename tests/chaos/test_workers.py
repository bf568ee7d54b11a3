"""Scale-out on PostgreSQL: API-only servers, several workers, and a worker that dies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration.helpers import create_workflow, get_instance, run, wait_terminated
from tests.testing.peek import Peek
from tests.testing.postgres import PostgresServer
from tests.testing.server import ServerProcess, eventually

Cluster = tuple[ServerProcess, list[ServerProcess]]


@pytest.fixture(scope="module")
def processes(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """An API-only server and two workers on one database, for the whole module: each test
    uses workflows of its own."""
    uri = postgres.create_database(f"w_{uuid.uuid4().hex[:12]}")
    base = tmp_path_factory.mktemp("cluster")
    api = ServerProcess(data_dir=base / "api", postgres_uri=uri, extra_args=["--worker=false"])
    workers = [
        ServerProcess(
            data_dir=base / f"w{n}",
            postgres_uri=uri,
            command="worker",
            # Waits up to 3 s are held by a worker's workflows (taken over when it dies),
            # longer ones park (woken by whichever worker is alive).
            extra_args=["--executor-id", f"w{n}", "--park-after", "3"],
        )
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    api.start()
    yield api, workers
    for process in [api, *workers]:
        process.stop()


@pytest.fixture
def cluster(processes: Cluster) -> Cluster:
    """The module's cluster with both workers running: one a test killed is started again."""
    for worker in processes[1]:
        if worker.proc is None or worker.proc.poll() is not None:
            worker.start()
    return processes


def test_api_only_server_hands_instances_to_workers(cluster: Cluster) -> None:
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


def test_instances_of_a_killed_worker_are_taken_over(cluster: Cluster) -> None:
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


def test_a_delay_parked_by_a_killed_worker_is_woken_by_another(cluster: Cluster) -> None:
    api, workers = cluster
    client = api.client()
    # It parks if its sleep starts within 3 s of the stage (--park-after 3): slack for a loaded machine.
    wf = create_workflow(client, [{"delay": {"duration": "6s"}}, {"noop": {}}])
    ids = [run(client, wf)["id"] for _ in range(10)]
    with Peek(api) as peek:
        for inst in ids:
            eventually(lambda inst=inst: peek.waits(inst), bool, timeout=20, what=f"{inst} to park")
    workers[0].kill()
    for inst in ids:
        done = wait_terminated(client, inst, timeout=30)
        assert "error" not in done and [s["stage"] for s in done["status"]] == [0, 1]


def test_abort_through_an_api_only_server_stops_a_worker_instance(cluster: Cluster) -> None:
    api, _ = cluster
    client = api.client()
    wf = create_workflow(client, [{"wait_event": {"event": "never"}}, {"noop": {}}])
    inst = run(client, wf)["id"]
    eventually(lambda: get_instance(client, inst).get("status", []), bool, timeout=20)
    assert client.put(f"/instances/{inst}/abort").status_code == 204
    done = get_instance(client, inst)  # the abort itself ended it
    assert done["error"] == "canceled" and len(done["status"]) == 1
