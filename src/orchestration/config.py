"""Settings of a server or worker process, built once from flags and environment (STYLE R8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

DEFAULT_LISTEN = "0.0.0.0:8080"
DEFAULT_DATA_DIR = Path("orchestration-data")


@dataclass(frozen=True, kw_only=True)
class Settings:
    listen: str = DEFAULT_LISTEN
    """--listen / LISTEN: HTTP address, `host:port` (`:8080` means every interface)."""
    postgres_uri: str | None = None
    """--postgres-uri / POSTGRES_URI. None: embedded SQLite files under `data_dir`."""
    data_dir: Path = DEFAULT_DATA_DIR
    """--data-dir / DATA_DIR: where the embedded SQLite files live."""
    worker: bool = True
    """--worker / WORKER (serve): also run the engine worker in this process."""
    executor_id: str | None = None
    """--executor-id / EXECUTOR_ID: the engine's name for this process; unique per process."""
    debug: bool = False
    """--debug / DEBUG: debug logging."""
    json_logs: bool = False
    """--json-formatting-logger / JSON_FORMATTING_LOGGER: one JSON object per log line."""
    stack_url: str = ""
    """--stack-url / STACK_URL: the Formance gateway (Ledger, Wallets, Payments)."""
    stack_client_id: str = ""
    """--stack-client-id / STACK_CLIENT_ID: OAuth2 client for the gateway (none: no auth)."""
    stack_client_secret: str = ""
    """--stack-client-secret / STACK_CLIENT_SECRET."""
    stack_timeout: timedelta = timedelta(seconds=30)
    """--stack-timeout / STACK_TIMEOUT: the longest one call to the gateway may take."""
    activity_max_attempts: int = 15
    """--activity-max-attempts / ACTIVITY_MAX_ATTEMPTS: attempts of one activity before its stage fails."""
    activity_retry_initial: timedelta = timedelta(seconds=2)
    """--activity-retry-initial / ACTIVITY_RETRY_INITIAL: the wait after a first failed attempt; it doubles."""
    activity_retry_max: timedelta = timedelta(seconds=200)
    """--activity-retry-max / ACTIVITY_RETRY_MAX: the longest wait between two attempts."""
    wait_timeout: timedelta = timedelta(seconds=60)
    """--wait-timeout / WAIT_TIMEOUT: how long `?wait=true` waits before answering the current state."""
    wait_poll_interval: timedelta = timedelta(milliseconds=50)
    """How often `?wait=true` looks at the instance."""
    heartbeat_interval: timedelta = timedelta(seconds=2)
    """--heartbeat-interval / HEARTBEAT_INTERVAL: how often a worker says it is alive."""
    takeover_after: timedelta = timedelta(seconds=10)
    """--takeover-after / TAKEOVER_AFTER: silence after which a worker's instances are resumed by others."""
    signal_poll_interval: timedelta = timedelta(milliseconds=500)
    """--signal-poll-interval / SIGNAL_POLL_INTERVAL: how often a worker on PostgreSQL looks
    for events and aborts sent through other processes and for deadlines they parked."""

    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return (host or "0.0.0.0"), int(port)
