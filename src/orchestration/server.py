"""Composition root: database, migrations, engine, services, HTTP app."""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from orchestration import __version__, bus, storage
from orchestration.api import create_app, create_metrics_app, serve_under_gateway
from orchestration.auth import TokenVerifier
from orchestration.config import Settings, StorageSettings, parse_listen
from orchestration.engine import DataDirLock, Engine, EngineClient, migrate_engine
from orchestration.http_server import HttpServer
from orchestration.observability import traces
from orchestration.service import (
    EventRelay,
    HealthService,
    InstanceService,
    LinkFetcher,
    MetricsService,
    Services,
    TriggerCatalog,
    TriggerDispatcher,
    TriggerService,
    WebhookReceiver,
    WorkflowService,
)
from orchestration.service.health import Probe
from orchestration.stack import StackClient

log = logging.getLogger(__name__)


class StartupError(Exception):
    """The process cannot start; the message says why, for a person (no traceback)."""


def prepare_storage(settings: StorageSettings) -> storage.Database:
    """Create the data directory if embedded, apply migrations, open the pool."""
    if settings.embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = storage.database_url(postgres_uri=settings.postgres_uri, data_dir=settings.data_dir)
    storage.migrate(url)
    return storage.Database(url, max_connections=settings.postgres_max_open_conns)


def migrate_all(settings: Settings) -> None:
    """Our tables and the engine's, then exit (`orchestration migrate`). Embedded, not while a
    server runs on the data directory (it migrated when it started)."""
    with ExitStack() as held:
        if settings.storage.embedded:
            _hold_lock(held, settings)
        asyncio.run(prepare_storage(settings.storage).dispose())
        migrate_engine(settings.storage)


@dataclass
class Process:
    """What one server or worker process holds while it runs."""

    db: storage.Database
    engine: Engine | EngineClient
    services: Services
    http_clients: list[StackClient]
    bus_connection: bus.BusConnection | None = None
    consumer: bus.BusConsumer | None = None
    publisher: bus.EventPublisher | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        if self.consumer is not None:
            await self.consumer.close()  # no message half-dispatched when the engine stops
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.engine.shutdown()
        if self.publisher is not None:
            await self.publisher.close()
        if self.bus_connection is not None:
            await self.bus_connection.close()
        for client in self.http_clients:
            await client.aclose()
        await self.db.dispose()


async def start_process(settings: Settings, *, worker: bool) -> Process:
    metrics_socket = _bind(settings.metrics.listen) if settings.metrics.listen else None
    db = prepare_storage(settings.storage)
    stack = settings.stack
    # One client of the gateway for the stages and for link(); --link-origins are read without credentials.
    gateway = StackClient(
        stack.url, client_id=stack.client_id, client_secret=stack.client_secret, timeout=stack.timeout
    )
    anonymous = StackClient("", timeout=stack.timeout)
    engine: Engine | EngineClient
    if worker:
        engine = Engine(settings, db, gateway if stack.url else None)
        await engine.launch()
    else:
        engine = EngineClient()
    links = LinkFetcher(gateway, anonymous, stack)
    publish = settings.bus.nats_enabled
    catalog = TriggerCatalog(
        db, shared=not settings.storage.embedded, refresh_every=settings.engine.signal_poll_interval
    )
    dispatcher = TriggerDispatcher(db, engine, links, catalog, publish_events=publish)
    connection = bus.BusConnection(settings.bus) if publish and worker else None
    probes: dict[str, Probe] = {"engine": engine.problem}
    if connection is not None:
        probes["bus"] = lambda: None if connection.connected else "not connected to NATS"
    services = Services(
        workflows=WorkflowService(db),
        instances=InstanceService(
            db, engine, wait_timeout=settings.http.wait_timeout, wait_poll_interval=settings.http.wait_poll_interval,
            publish_events=publish,
        ),
        triggers=TriggerService(db, links, catalog),
        webhooks=WebhookReceiver(settings.webhooks.secrets, dispatcher),
        health=HealthService(db, probes),
        metrics=MetricsService(db),
    )
    process = Process(db, engine, services, [gateway, anonymous], bus_connection=connection)
    if metrics_socket is not None:
        process.tasks.append(asyncio.create_task(_serve_metrics(metrics_socket, services.metrics)))
    if connection is not None:
        # Workers publish the outbox (API-only servers record events too) and consume --topics.
        await connection.start()
        process.publisher = bus.NatsPublisher(connection, settings.bus)
        process.tasks.append(asyncio.create_task(EventRelay(db, process.publisher).run()))
        if settings.bus.topics:
            process.consumer = bus.BusConsumer(
                connection, settings.bus, dispatcher.handle_message,
                tuning=bus.ConsumerTuning(ack_wait=settings.bus.ack_wait),
            )
            await process.consumer.start()
    return process


class _InnerServer(HttpServer):
    """A uvicorn server inside a process that handles its own signals (it would take them over)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_metrics(sock: socket.socket, service: MetricsService) -> None:
    config = uvicorn.Config(create_metrics_app(service), log_config=None, access_log=False, lifespan="off")
    with sock:
        await _InnerServer(config).serve(sockets=[sock])


def build_app(settings: Settings) -> ASGIApp:
    """The HTTP app; its lifespan starts and stops the process's database and engine."""

    verifier = TokenVerifier(settings.auth) if settings.auth.enabled else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        process = await start_process(settings, worker=settings.worker)
        app.state.services = process.services
        warm_up = asyncio.create_task(verifier.keys.warm_up()) if verifier else None
        log.info("orchestration %s ready on %s (worker: %s)", __version__, settings.http.listen, settings.worker)
        try:
            yield
        finally:
            if verifier is not None:
                assert warm_up is not None
                warm_up.cancel()
                await verifier.aclose()
            await process.close()

    app = create_app(
        services=None,  # type: ignore[arg-type]  # set by the lifespan
        version=__version__,
        lifespan=lifespan,
        max_body_size=settings.http.max_body_size,
        auth=settings.auth,
        verifier=verifier,
        open_metrics=settings.metrics.open,
    )
    traces.instrument_app(app)
    return serve_under_gateway(app)


def _bind(listen: str) -> socket.socket:
    """Take the listening socket before anything else, so that a busy port fails at once
    instead of after migrations and a "ready" line."""
    host, port = parse_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio turns TCP_NODELAY on only for sockets that say
    # so, and without it every request on a kept-alive connection waits ~40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {listen}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _warn_if_open(settings: Settings) -> None:
    """Anyone who reaches a non-loopback address without auth can move money: say it loudly."""
    host, _ = settings.http.host_port()
    if settings.auth.enabled or host in ("127.0.0.1", "::1", "localhost"):
        return
    log.warning(
        "AUTHENTICATION IS OFF and the API listens on %s: anyone who can reach this address can read "
        "and start workflows, and move money. Use --auth-enabled with --auth-issuer, or --listen 127.0.0.1:<port>.",
        settings.http.listen,
    )


def _hold_lock(held: ExitStack, settings: Settings) -> None:
    """Embedded: one process per data directory (a server, a worker or a migration), checked
    before migrations touch it, and released when `held` closes."""
    if not settings.storage.embedded:
        return
    try:
        lock = DataDirLock.acquire(settings.storage.data_dir)
    except DataDirLock.Busy as exc:
        raise StartupError(str(exc)) from None
    held.callback(lock.release)


def _trace(held: ExitStack, settings: Settings) -> None:
    """Traces on for this process (before the engine, whose spans they carry), flushed when `held` closes."""
    if settings.traces.exporter:
        traces.configure(settings.traces, version=__version__)
        held.callback(traces.shutdown)


def serve(settings: Settings) -> None:
    """The HTTP API (and the worker, unless `--worker=false`) until SIGTERM or Ctrl-C."""
    _warn_if_open(settings)
    with ExitStack() as held:
        sock = held.enter_context(_bind(settings.http.listen))
        _hold_lock(held, settings)
        _trace(held, settings)
        config = uvicorn.Config(
            build_app(settings), log_config=None, access_log=settings.http.access_log, lifespan="on",
            timeout_keep_alive=math.ceil(settings.http.keep_alive.total_seconds()),  # whole seconds
        )
        try:
            HttpServer(config).run(sockets=[sock])
        except KeyboardInterrupt:
            pass  # uvicorn already shut down cleanly; Ctrl-C is how a person stops it


def run_worker(settings: Settings) -> None:
    """Engine worker only, until SIGTERM/SIGINT."""

    async def main() -> None:
        process = await start_process(settings, worker=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("orchestration worker %s ready", __version__)
        try:
            await stop.wait()
        finally:
            await process.close()

    with ExitStack() as held:
        _hold_lock(held, settings)
        _trace(held, settings)
        asyncio.run(main())
