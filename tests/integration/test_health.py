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
