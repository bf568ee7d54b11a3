"""Shared fixtures: real servers on 127.0.0.1, on embedded SQLite and on PostgreSQL.

`ORCH_TEST_DB=sqlite` or `postgres` restricts the backends (both by default).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testing.fake_stack import FakeStack
from tests.testing.postgres import PostgresServer, require_pg_bin
from tests.testing.server import ServerProcess

BACKENDS = [b for b in ("sqlite", "postgres") if os.environ.get("ORCH_TEST_DB", b) == b]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(require_pg_bin())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_uri(backend: str, request: pytest.FixtureRequest) -> str | None:
    """A fresh database for one test: None means embedded SQLite."""
    if backend == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def api_server(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server per backend for the API suite (tests use their own workflows)."""
    uri = None
    if backend == "postgres":
        uri = request.getfixturevalue("postgres").create_database(f"api_{uuid.uuid4().hex[:8]}")
    server = ServerProcess(data_dir=tmp_path_factory.mktemp(f"api-{backend}"), postgres_uri=uri)
    server.start()
    yield server
    server.stop()


# Short retries so that a test sees every attempt of an activity in well under a second.
FAST_RETRIES = [
    "--activity-retry-initial", "0.05", "--activity-retry-max", "0.2", "--activity-max-attempts", "4",
    "--stack-timeout", "2",
]


@pytest.fixture(scope="session")
def fake_stack() -> Iterator[FakeStack]:
    with FakeStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def money_server(
    backend: str, fake_stack: FakeStack, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server connected to the fake gateway, one per backend."""
    uri = None
    if backend == "postgres":
        uri = request.getfixturevalue("postgres").create_database(f"money_{uuid.uuid4().hex[:8]}")
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp(f"money-{backend}"),
        postgres_uri=uri,
        extra_args=[
            "--stack-url", fake_stack.url, "--stack-client-id", "orchestration", "--stack-client-secret", "secret",
            *FAST_RETRIES,
        ],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def new_server(database_uri: str | None, tmp_path: Path) -> Iterator[ServerProcess]:
    """A not-yet-started server with its own database, for tests that kill or restart it."""
    server = ServerProcess(data_dir=tmp_path / "data", postgres_uri=database_uri)
    yield server
    server.stop()
