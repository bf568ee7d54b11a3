"""Composition root: database, migrations, engine, services, HTTP app."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from orchestration import __version__, storage
from orchestration.api import create_app
from orchestration.config import Settings
from orchestration.engine import Engine, EngineClient, EngineConfig, RetryPolicy, migrate_engine
from orchestration.service import InstanceService, Services, WorkflowService

log = logging.getLogger(__name__)


def prepare_storage(settings: Settings) -> storage.Database:
    """Create the data directory if embedded, apply migrations, open the pool."""
    if not settings.postgres_uri:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage.migrate(storage.database_url(postgres_uri=settings.postgres_uri, data_dir=settings.data_dir, driver="sync"))
    return storage.Database(
        storage.database_url(postgres_uri=settings.postgres_uri, data_dir=settings.data_dir, driver="async")
    )


def migrate_all(settings: Settings) -> None:
    """Our tables and the engine's, then exit (`orchestration migrate`)."""
    asyncio.run(prepare_storage(settings).dispose())
    migrate_engine(_engine_config(settings))


def _engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        postgres_uri=settings.postgres_uri,
        data_dir=settings.data_dir,
        executor_id=settings.executor_id,
        signal_poll_interval=settings.signal_poll_interval,
        heartbeat_interval=settings.heartbeat_interval,
        takeover_after=settings.takeover_after,
        stack_url=settings.stack_url,
        stack_client_id=settings.stack_client_id,
        stack_client_secret=settings.stack_client_secret,
        stack_timeout=settings.stack_timeout,
        retry=RetryPolicy(
            max_attempts=settings.activity_max_attempts,
            initial_interval=settings.activity_retry_initial,
            max_interval=settings.activity_retry_max,
        ),
    )


@dataclass
class Runtime:
    db: storage.Database
    engine: Engine | EngineClient
    services: Services

    async def close(self) -> None:
        await self.engine.shutdown()
        await self.db.dispose()


async def start_runtime(settings: Settings, *, worker: bool) -> Runtime:
    db = prepare_storage(settings)
    engine: Engine | EngineClient
    if worker:
        engine = Engine(_engine_config(settings), db)
        await engine.launch()
    else:
        engine = EngineClient(_engine_config(settings))
    services = Services(
        workflows=WorkflowService(db),
        instances=InstanceService(
            db, engine, wait_timeout=settings.wait_timeout, wait_poll_interval=settings.wait_poll_interval
        ),
    )
    return Runtime(db, engine, services)


def build_app(settings: Settings) -> FastAPI:
    """The HTTP app; its lifespan starts and stops the runtime (and the worker, if any)."""
    holder: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings, worker=settings.worker)
        holder["runtime"] = runtime
        app.state.services = runtime.services
        log.info("orchestration %s ready (worker: %s)", __version__, settings.worker)
        try:
            yield
        finally:
            await runtime.close()

    return create_app(services=None, version=__version__, lifespan=lifespan)  # type: ignore[arg-type]


def serve(settings: Settings) -> None:
    host, port = settings.listen_host_port()
    config = uvicorn.Config(
        build_app(settings), host=host, port=port, log_config=None, access_log=settings.debug, lifespan="on"
    )
    uvicorn.Server(config).run()


def run_worker(settings: Settings) -> None:
    """Engine worker only, until SIGTERM/SIGINT."""

    async def main() -> None:
        runtime = await start_runtime(settings, worker=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("orchestration worker %s ready", __version__)
        try:
            await stop.wait()
        finally:
            await runtime.close()

    asyncio.run(main())
