"""`/_healthcheck` says which part is down: 503 when PostgreSQL or NATS stops, 200 when back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.testing.nats import NatsServer
from tests.testing.postgres import PostgresServer, require_pg_bin
from tests.testing.server import ServerProcess, eventually


def health(server: ServerProcess) -> tuple[int, dict[str, Any]]:
    res = httpx.get(f"{server.url}/_healthcheck", timeout=30)
    return res.status_code, res.json()


def test_a_healthy_embedded_server_says_so_part_by_part(api_server: ServerProcess) -> None:
    status, body = health(api_server)
    assert status == 200
    assert body == {"default": "OK", "database": "OK", "engine": "OK"}


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A cluster of the test's own: it is stopped under a running server."""
    server = PostgresServer(require_pg_bin())
    server.start()
    yield server
    server.stop()


def test_postgresql_stopping_and_coming_back(own_postgres: PostgresServer, tmp_path: Path) -> None:
    uri = own_postgres.create_database("health")
    server = ServerProcess(data_dir=tmp_path / "data", postgres_uri=uri).start()
    try:
        own_postgres.pause()
        status, body = eventually(lambda: health(server), lambda h: h[0] == 503, what="a 503")
        assert body["default"] == "DOWN" and body["database"].startswith("DOWN: ")
        assert body["engine"] == "OK"
        own_postgres.resume()
        eventually(lambda: health(server), lambda h: h == (200, {"default": "OK", "database": "OK", "engine": "OK"}),
                   timeout=30, what="a 200 once PostgreSQL is back")
    finally:
        server.stop()


def test_while_postgresql_restarts_the_api_answers_503_and_instances_finish_after(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    uri = own_postgres.create_database("restart")
    server = ServerProcess(data_dir=tmp_path / "data", postgres_uri=uri).start()
    # One kept-alive connection throughout: a 503 must not close it. The timeout bounds every
    # request: an answer must come while PostgreSQL is down, not when it is back.
    client = httpx.Client(base_url=server.url, timeout=10)
    try:
        workflow = client.post("/v2/workflows", json={"stages": [{"delay": {"duration": "1s"}}, {"noop": {}}]})
        workflow_id = workflow.json()["data"]["id"]
        before = client.post(f"/v2/workflows/{workflow_id}/instances").json()["data"]["id"]
        own_postgres.pause("fast")  # a restart: every connection is closed, every commit kept
        for method, path, body in [
            ("GET", "/v2/workflows", None),
            ("GET", f"/v2/workflows/{workflow_id}", None),
            ("POST", f"/v2/workflows/{workflow_id}/instances", {}),
            ("GET", f"/v2/instances/{before}", None),
            ("POST", f"/v2/instances/{before}/events", {"name": "go"}),
            ("GET", f"/instances?workflowID={workflow_id}", None),
        ]:
            answer = client.request(method, path, json=body)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["Retry-After"] == "1"
            assert answer.json() == {
                "errorCode": "INTERNAL", "errorMessage": "the database is unreachable; try again shortly"
            }
        own_postgres.resume()
        after = eventually(lambda: client.post(f"/v2/workflows/{workflow_id}/instances"),
                           lambda r: r.status_code == 201, timeout=30, what="runs accepted again").json()["data"]["id"]
        for instance_id in (before, after):
            done = eventually(lambda i=instance_id: client.get(f"/v2/instances/{i}").json()["data"],
                              lambda d: d["terminated"], timeout=30, what=f"instance {instance_id} ended")
            assert "error" not in done and [s["stage"] for s in done["status"]] == [0, 1]
        # Our loops said the database was down in a line each, with no traceback (DBOS's own
        # loops log theirs).
        ours = [line for line in server.log_path.read_text().splitlines() if " orchestration." in line]
        assert not [line for line in ours if " ERROR " in line], ours
        assert any("the database is unreachable (OperationalError)" in line for line in ours), ours
    finally:
        client.close()
        server.stop()


def test_nats_stopping_and_coming_back(nats_server: NatsServer, tmp_path: Path) -> None:
    server = ServerProcess(
        data_dir=tmp_path / "data",
        extra_args=nats_server.server_args(),
    ).start()
    try:
        assert health(server) == (200, {"default": "OK", "database": "OK", "engine": "OK", "bus": "OK"})
        nats_server.kill()
        status, body = eventually(lambda: health(server), lambda h: h[0] == 503, what="a 503")
        assert body["bus"] == "DOWN: not connected to NATS" and body["database"] == "OK"
        nats_server.restart()
        eventually(lambda: health(server), lambda h: h[0] == 200, timeout=30, what="a 200 once NATS is back")
    finally:
        server.stop()
