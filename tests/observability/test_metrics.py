"""`/metrics` after a scripted run: every count equals what happened, on both databases; a worker's
own endpoint; the gauges read from the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.helpers import create_workflow, get_instance, run, wait_stage, wait_terminated
from tests.testing.fake_stack import FakeStack
from tests.testing.postgres import PostgresServer
from tests.testing.prometheus import Scrape, scrape
from tests.testing.server import ServerProcess, eventually, free_port


@pytest.fixture
def server(database_uri: str | None, tmp_path: Path, fake_stack: FakeStack) -> Iterator[ServerProcess]:
    server = ServerProcess(
        data_dir=tmp_path / "data",
        postgres_uri=database_uri,
        extra_args=[
            *fake_stack.server_args(),
            # Long pauses between attempts, so that a retry stays pending while the test looks.
            "--activity-retry-initial", "10m", "--activity-retry-max", "10m", "--stack-timeout", "2",
            "--park-after", "200ms",
        ],  # fmt: skip
    )
    server.start()
    yield server
    server.stop()


def send(ledger: str, source: str, destination: str, amount: int = 100) -> dict[str, Any]:
    return {"send": {"source": {"account": {"id": source, "ledger": ledger}},
                     "destination": {"account": {"id": destination, "ledger": ledger}},
                     "amount": {"amount": amount, "asset": "USD"}}}


def attempts(client: httpx.Client, instance_id: str) -> int:
    """The `attempt` of the activities of stage 0 (0 before it starts): after a failure, the next one's number."""
    res = client.get(f"/instances/{instance_id}/stages/0/history")
    return sum(int(activity["attempt"]) for activity in res.json()["data"]) if res.status_code == 200 else 0


def test_the_counts_and_gauges_of_a_scripted_run(server: ServerProcess, fake_stack: FakeStack) -> None:
    client = server.client()
    ledger, retried_ledger = f"m-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    fake_stack.create_ledger(ledger)
    fake_stack.create_ledger(retried_ledger)
    noop = create_workflow(client, [{"noop": {}}])
    paying = create_workflow(client, [send(ledger, "world", "users:1")])
    refused = create_workflow(client, [send(ledger, "users:empty", "users:1")])  # INSUFFICIENT_FUND: final
    retried = create_workflow(client, [send(retried_ledger, "world", "users:2")])
    waiting = create_workflow(client, [{"wait_event": {"event": "go"}}])

    ended = [run(client, noop, wait="true"), run(client, noop, wait="true"), run(client, paying, wait="true"),
             run(client, refused, wait="true")]
    assert [("error" in i) for i in ended] == [False, False, False, True]
    fake_stack.fail_next("POST", f"/api/ledger/v2/{retried_ledger}/transactions", status=503)
    in_retry = run(client, retried)["id"]
    eventually(lambda: attempts(client, in_retry), lambda n: n == 2, what="the first attempt to fail")
    parked = run(client, waiting)["id"]
    wait_stage(client, parked, 0)

    gauges = eventually(
        lambda: scrape(server.url), lambda s: s.value("orchestration_instances_parked") == 1, what="a parked instance"
    )
    assert gauges.value("orchestration_instances_running") == 2
    assert gauges.value("orchestration_activity_retries_pending") == 1
    assert gauges.value("orchestration_database_connections_open") >= 1

    for instance_id in (in_retry, parked):
        assert client.put(f"/instances/{instance_id}/abort").status_code == 204
        wait_terminated(client, instance_id)
    after = scrape(server.url)
    assert after.value("orchestration_instances_running") == 0
    assert after.value("orchestration_instances_parked") == 0
    assert after.value("orchestration_activity_retries_pending") == 0

    def count(name: str, workflow: str) -> float:
        return after.value(f"orchestration_instances_{name}_total", workflow=workflow)

    assert [count("started", w) for w in (noop, paying, refused, retried, waiting)] == [2, 1, 1, 1, 1]
    assert [count("succeeded", w) for w in (noop, paying, refused)] == [2, 1, 0]
    assert count("failed", refused) == 1 and after.total("orchestration_instances_failed_total") == 1
    assert [count("canceled", w) for w in (retried, waiting)] == [1, 1]
    assert after.total("orchestration_instances_canceled_total") == 2

    # One attempt each for the paying and the refused instance, one failed attempt of the retried one.
    called = [attempts(client, i["id"]) for i in ended[2:]] + [1]
    assert after.value("orchestration_activity_attempts_total", activity="CreateTransaction") == sum(called) == 3
    assert after.value("orchestration_activity_failures_total", activity="CreateTransaction",
                       code="INSUFFICIENT_FUND") == 1
    assert after.value("orchestration_activity_failures_total", activity="CreateTransaction", code="INTERNAL") == 1
    # Stages that ended by themselves: two noops, two sends (the aborted ones were canceled).
    assert after.value("orchestration_stage_duration_seconds_count", type="noop") == 2
    assert after.value("orchestration_stage_duration_seconds_count", type="send") == 2
    assert after.value("orchestration_stage_duration_seconds_bucket", type="noop", le="0.005") == 2


def test_metrics_survive_a_restart_with_the_gauges_from_the_database(server: ServerProcess) -> None:
    client = server.client()
    waiting = create_workflow(client, [{"wait_event": {"event": "go"}}])
    ids = [run(client, waiting)["id"] for _ in range(3)]
    for instance_id in ids:
        wait_stage(client, instance_id, 0)
    eventually(lambda: scrape(server.url), lambda s: s.value("orchestration_instances_parked") == 3)
    server.stop()
    server.start()
    restarted = scrape(server.url)
    assert restarted.value("orchestration_instances_started_total", workflow=waiting) == 0  # a new process
    assert restarted.value("orchestration_instances_running") == 3
    assert restarted.value("orchestration_instances_parked") == 3
    assert client.post(f"/instances/{ids[0]}/events", json={"name": "go"}).status_code == 204
    assert "error" not in wait_terminated(client, ids[0])
    later = scrape(server.url)
    assert later.value("orchestration_instances_succeeded_total", workflow=waiting) == 1
    assert later.value("orchestration_instances_running") == 2


@pytest.mark.postgres
def test_each_worker_shows_what_it_did_on_its_own_endpoint(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    uri = postgres.create_database(f"m_{uuid.uuid4().hex[:8]}")
    metrics_port = free_port()
    api = ServerProcess(data_dir=tmp_path / "api", postgres_uri=uri, extra_args=["--worker=false"])
    worker = ServerProcess(data_dir=tmp_path / "w", postgres_uri=uri, command="worker",
                           extra_args=["--metrics-listen", f"127.0.0.1:{metrics_port}"])
    worker_url = f"http://127.0.0.1:{metrics_port}"
    try:
        worker.start()
        api.start()
        client = api.client()
        workflow = create_workflow(client, [{"noop": {}}, {"noop": {}}])
        ids = [run(client, workflow)["id"] for _ in range(3)]
        for instance_id in ids:
            wait_terminated(client, instance_id, timeout=30)

        def worker_scrape() -> Scrape | None:
            try:
                return scrape(worker_url)
            except httpx.HTTPError:
                return None

        by_worker = eventually(worker_scrape, what="the worker's /metrics")
        assert by_worker is not None
        assert by_worker.value("orchestration_instances_succeeded_total", workflow=workflow) == 3
        assert by_worker.value("orchestration_stage_duration_seconds_count", type="noop") == 6
        assert by_worker.value("orchestration_instances_started_total", workflow=workflow) == 0
        by_api = scrape(api.url)
        assert by_api.value("orchestration_instances_started_total", workflow=workflow) == 3
        assert by_api.value("orchestration_instances_succeeded_total", workflow=workflow) == 0
        assert get_instance(client, ids[0])["terminated"]
        # No other route there: it is not an API port.
        assert httpx.get(f"{worker_url}/v2/workflows", timeout=5).status_code == 404
    finally:
        api.stop()
        worker.stop()
