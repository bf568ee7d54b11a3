"""Shared fixtures: an engine in the test's process (`engine`, `start_engine`) and real
servers on 127.0.0.1, on embedded SQLite and on PostgreSQL.

`ORCH_TEST_DB=sqlite` or `postgres` restricts the backends (both by default).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import nats
import pytest
from nats.js import JetStreamContext

from orchestration import storage
from orchestration.config import StorageSettings
from orchestration.engine import migrate_engine
from tests.testing.engine import EngineHarness, fast_settings
from tests.testing.fake_stack import FakeStack
from tests.testing.nats import NatsServer, require_nats_server
from tests.testing.postgres import PostgresServer, require_pg_bin
from tests.testing.server import ServerProcess

WEBHOOK_SECRETS = ("whsec-current-3f1e0d", "whsec-previous-9a7b2c")
"""The secrets `api_server` shares with the Webhooks service (two: a rotation in progress)."""

# No deadline per example: how long one takes is the machine's load, not what a test judges
# (an example that runs into a cold import took more than hypothesis's default 200 ms).
hypothesis.settings.register_profile("orchestration", deadline=None)
hypothesis.settings.load_profile("orchestration")

BACKENDS = [b for b in ("sqlite", "postgres") if os.environ.get("ORCH_TEST_DB", b) == b]

# Modules whose tests share module-scoped servers (a crash staged once for several tests,
# a cluster): each runs on one test worker, so that its servers start once.
WHOLE_MODULES = ("tests/chaos/",)
# Packages whose tests run one after the other on one worker. The console's drive a browser
# with Playwright's sync API, which holds an event loop running in the worker's thread until it
# stops (after the package's last test): an async test in between could not run its own.
WHOLE_PACKAGES = ("tests/console/",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist (`-n`): every test goes to whichever worker is free, except those of
    `WHOLE_MODULES`, sent module by module, and of `WHOLE_PACKAGES`, sent package by package
    (biggest first, so that they start early).

    xdist's own `--dist loadgroup` would do with `xdist_group` marks, but it tags a test
    by rewriting its id, which pytest 9 no longer reads: the marks are silently ignored.
    """
    from xdist.scheduler import LoadScopeScheduling

    class WholeModulesScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            package = next((package for package in WHOLE_PACKAGES if module.startswith(package)), None)
            if package is not None:
                return package
            return module if module.startswith(WHOLE_MODULES) else nodeid

    return WholeModulesScheduling(config, log)


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """A nats-server with JetStream of the test's own, on a free port."""
    server = NatsServer(require_nats_server()).start()
    yield server
    server.stop()


@pytest.fixture
async def jetstream(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    """A plain nats-py client of `nats_server`, as a Formance service or a consumer would use it."""

    async def quiet(exc: Exception) -> None:
        pass  # tests kill the server on purpose: no traceback per reconnection attempt

    connection = await nats.connect(
        nats_server.url, reconnect_time_wait=0.1, max_reconnect_attempts=-1, error_cb=quiet
    )
    yield connection.jetstream(timeout=5)
    await connection.close()


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
def migrated_template(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The name of a database holding our tables and the engine's, at their latest revision:
    engine tests start from a copy of it instead of migrating a database of their own."""
    name = "migrated_template"
    uri = postgres.create_database(name)
    storage.migrate(storage.database_url(postgres_uri=uri, data_dir=tmp_path_factory.mktemp("unused")))
    migrate_engine(StorageSettings(postgres_uri=uri))
    return name


@pytest.fixture
def migrated_database_uri(backend: str, request: pytest.FixtureRequest) -> str | None:
    """Like `database_uri`, already migrated: None means embedded SQLite."""
    if backend == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    template: str = request.getfixturevalue("migrated_template")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}", template=template)


@pytest.fixture
async def db(migrated_database_uri: str | None, tmp_path: Path) -> AsyncIterator[storage.Database]:
    """Our tables, migrated, in a database of this test's own (no engine)."""
    if migrated_database_uri is None:
        storage.migrate(storage.database_url(postgres_uri=None, data_dir=tmp_path))
    database = storage.Database(
        storage.database_url(postgres_uri=migrated_database_uri, data_dir=tmp_path)
    )
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
def api_server(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server per backend for the API suite (tests use their own workflows)."""
    uri = None
    if backend == "postgres":
        uri = request.getfixturevalue("postgres").create_database(f"api_{uuid.uuid4().hex[:8]}")
    server = ServerProcess(
        data_dir=tmp_path_factory.mktemp(f"api-{backend}"),
        postgres_uri=uri,
        extra_args=[
            "--webhooks-secret", WEBHOOK_SECRETS[0], "--webhooks-secret", WEBHOOK_SECRETS[1],
            "--link-origins", "http://127.0.0.1",  # tests' resource servers (tests/testing/link_server.py)
        ],  # fmt: skip
    )
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
        extra_args=[*fake_stack.server_args(), *FAST_RETRIES],
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


StartEngine = Callable[..., Awaitable[EngineHarness]]


@pytest.fixture
async def start_engine(migrated_database_uri: str | None, tmp_path: Path) -> AsyncIterator[StartEngine]:
    """Start an engine in this test's event loop on its fresh database: `await start_engine(**settings)`
    with `fast_settings` keywords (`stack_url=`, `park_after=`, ...); stopped after the test."""
    harnesses: list[EngineHarness] = []

    async def start(**settings: Any) -> EngineHarness:
        harness = EngineHarness(fast_settings(tmp_path / "data", postgres_uri=migrated_database_uri, **settings))
        harnesses.append(harness)
        return await harness.start()

    yield start
    for harness in reversed(harnesses):
        await harness.stop()


@pytest.fixture
async def engine(start_engine: StartEngine) -> EngineHarness:
    """An engine with the test settings (`tests.testing.engine.FAST_ENGINE`), no Formance stack."""
    return await start_engine()
