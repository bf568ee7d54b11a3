"""Settings of a server or worker process: one declaration per setting (STYLE R8).

Each field below is the only place its name, type, default, help text and flag live.
`orchestration.cli` derives the command-line options and their environment variables
from these declarations, and the resulting frozen `Settings` is handed down as it is:
the engine reads `settings.engine`, `settings.retry` and `settings.stack`, the HTTP app
`settings.http`. Nothing else reads flags or the environment.

Why click options generated from dataclasses rather than pydantic-settings: the
command line is click's already (sub-commands, `--flag=false` as the original's Go
flags accept it), the objects handed down stay plain frozen dataclasses, and one
parser reads both flags and environment, so they cannot disagree.

Durations are `timedelta` here; at the edge they are Go durations (`500ms`, `1m30s`)
or plain seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any


class Command(StrEnum):
    """The sub-commands that take settings."""

    SERVE = "serve"
    WORKER = "worker"
    MIGRATE = "migrate"


_ALL = frozenset(Command)
_RUNNERS = frozenset({Command.SERVE, Command.WORKER})  # processes that may run the engine
_SERVE = frozenset({Command.SERVE})


@dataclass(frozen=True)
class Flag:
    """How a setting appears on the command line and in the environment."""

    name: str
    """The long option, e.g. `--postgres-uri`; its environment variable is `POSTGRES_URI`."""
    help: str
    commands: frozenset[Command]
    minimum: int | None = None
    """For integers: the smallest value accepted."""
    nonzero: bool = False
    """For durations: zero is refused too (an interval of zero would spin)."""
    check: Callable[[str], object] | None = None
    """For text: raises ValueError, saying why, for a value that cannot work."""
    multiple: bool = False
    """A list: the flag may be repeated; its environment variable separates values by spaces or commas."""
    secret: bool = False
    """Never shown: no default in `--help`, not in the settings' repr."""

    @property
    def envvar(self) -> str:
        return self.name.removeprefix("--").replace("-", "_").upper()


def setting(default: Any, flag: str, help: str, *, commands: frozenset[Command] = _RUNNERS, **extra: Any) -> Any:
    """A dataclass field carrying its flag: the declaration of one setting."""
    declared = Flag(flag, help, commands, **extra)
    return field(default=default, repr=not declared.secret, metadata={"flag": declared})


def flag_of(declared: Any) -> Flag:
    """The flag of a dataclass field declared with `setting`."""
    flag: Flag = declared.metadata["flag"]
    return flag


MiB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class StorageSettings:
    """Where the data lives."""

    postgres_uri: str | None = setting(
        None, "--postgres-uri", "PostgreSQL URI; without it, embedded SQLite files under --data-dir.", commands=_ALL,
        secret=True,  # it may carry a password
    )
    data_dir: Path = setting(
        Path("orchestration-data"), "--data-dir", "Directory of the embedded SQLite files.", commands=_ALL
    )
    # No connection beyond the bound: ones opened and closed for each transaction under load cost
    # more than the transactions themselves. A transaction that finds none free waits its turn.
    postgres_max_open_conns: int = setting(
        20, "--postgres-max-open-conns", "Connections to PostgreSQL kept open at most by each pool of this "
        "process: ours, and the engine's for its checkpoints where it runs one.", minimum=1,
    )

    @property
    def embedded(self) -> bool:
        return not self.postgres_uri


def parse_listen(address: str) -> tuple[str, int]:
    """`host:port`, `:port` (every interface) or `[ipv6]:port`; ValueError names what is wrong."""
    host, colon, port = address.rpartition(":")
    if not colon or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise ValueError(f"{address!r} is not host:port with a port from 0 to 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return (host or "0.0.0.0"), int(port)


@dataclass(frozen=True, kw_only=True)
class HttpSettings:
    """The HTTP API (`serve`)."""

    listen: str = setting(
        "0.0.0.0:8080", "--listen", "HTTP listen address host:port (`:8080`: every interface).", commands=_SERVE,
        check=parse_listen,
    )
    wait_timeout: timedelta = setting(
        timedelta(seconds=60), "--wait-timeout", "How long `?wait=true` waits for the end of an instance.",
        commands=_SERVE,
    )
    wait_poll_interval: timedelta = setting(
        timedelta(milliseconds=50), "--wait-poll-interval", "How often `?wait=true` looks at the instance.",
        commands=_SERVE, nonzero=True,
    )
    max_body_size: int = setting(
        4 * MiB, "--max-body-size", "Largest request body accepted, in bytes (413 beyond).", commands=_SERVE,
        minimum=1,
    )
    access_log: bool = setting(True, "--access-log", "One log line per HTTP request.", commands=_SERVE)
    # Longer than the idle time after which clients and load balancers drop a kept-alive connection
    # (httpx 5 s, aiohttp 15 s, AWS's balancers 60 s): closing first, the server races their next
    # request on it, which then fails unanswered.
    keep_alive: timedelta = setting(
        timedelta(seconds=75), "--http-keep-alive",
        "How long an idle kept-alive connection stays open. Keep it longer than the idle timeout of "
        "any load balancer in front.",
        commands=_SERVE, nonzero=True,
    )

    def host_port(self) -> tuple[str, int]:
        return parse_listen(self.listen)



def parse_origin(entry: str) -> tuple[str, str, int | None]:
    """`http[s]://host[:port]` as (scheme, host, port or None); ValueError names what is wrong."""
    scheme, sep, rest = entry.partition("://")
    host, colon, port = rest.rpartition(":") if ":" in rest.strip("[]") else (rest, "", "")
    if scheme not in ("http", "https") or not sep or not host or "/" in rest or (colon and not port.isdigit()):
        raise ValueError(f"{entry!r} is not an origin http[s]://host[:port] (e.g. https://resources.example.com)")
    return scheme, host.strip("[]").lower(), int(port) if colon else None


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """The Formance stack that `send` and `update` stages call."""

    url: str = setting("", "--stack-url", "Formance gateway URL (Ledger, Wallets, Payments).")
    client_id: str = setting("", "--stack-client-id", "OAuth2 client id for the gateway (none: no auth).")
    client_secret: str = setting("", "--stack-client-secret", "OAuth2 client secret for the gateway.", secret=True)
    timeout: timedelta = setting(
        timedelta(seconds=30), "--stack-timeout", "Longest time one call to the gateway may take.", nonzero=True
    )
    link_origins: tuple[str, ...] = setting(
        (), "--link-origins",
        "Origins besides --stack-url's that link() in trigger expressions may read (http[s]://host[:port]; "
        "no port: any), without the gateway's credentials.",
        multiple=True, check=parse_origin,
    )


@dataclass(frozen=True, kw_only=True)
class RetrySettings:
    """How failed calls to the stack are retried (DESIGN §3): bounded, with a growing durable wait."""

    max_attempts: int = setting(
        15, "--activity-max-attempts", "Attempts of one activity before its stage fails.", minimum=1
    )
    initial_interval: timedelta = setting(
        timedelta(seconds=2), "--activity-retry-initial", "Wait after a first failed attempt; it doubles."
    )
    max_interval: timedelta = setting(
        timedelta(seconds=200), "--activity-retry-max", "Longest wait between two attempts."
    )


@dataclass(frozen=True, kw_only=True)
class EngineSettings:
    """The durable engine of a worker."""

    executor_id: str | None = setting(
        None, "--executor-id", "Engine name of this process, unique per process (default: generated)."
    )
    signal_poll_interval: timedelta = setting(
        timedelta(milliseconds=500), "--signal-poll-interval",
        "How often a worker on PostgreSQL looks for what other processes changed while it cannot hear "
        "their notices (events, aborts, parked deadlines, instances to start), for the ends of instances "
        "something of it waits for, and for triggers created or deleted elsewhere.",
        nonzero=True,
    )
    heartbeat_interval: timedelta = setting(
        timedelta(seconds=2), "--heartbeat-interval", "How often a worker on PostgreSQL says it is alive.", nonzero=True
    )
    takeover_after: timedelta = setting(
        timedelta(seconds=10), "--takeover-after",
        "Silence after which a PostgreSQL worker's instances are resumed by the others.",
        nonzero=True,
    )
    max_parallel_instances: int = setting(
        0, "--max-parallel-instances",
        "Instances this process runs at once, waits in memory and retry pauses included; others wait "
        "their turn, and a worker takes no more instances to start from API-only servers (0: no limit).",
        minimum=0,
    )
    park_after: timedelta = setting(
        timedelta(seconds=5), "--park-after",
        "Waits longer than this park their instance (no memory held); shorter ones wait in memory. "
        "An instance whose first stage to run waits for an event parks at once.",
    )
    timer_horizon: timedelta = setting(
        timedelta(minutes=2), "--timer-horizon",
        "Deadlines of parked instances closer than this get a timer in this process; later ones are found by "
        "the look-ahead.",
        nonzero=True,
    )
    look_ahead_interval: timedelta = setting(
        timedelta(minutes=1), "--look-ahead-interval",
        "How often to look for deadlines within --timer-horizon (shorter than the horizon), in the engine's "
        "queues and, on PostgreSQL, for instances to start: always embedded, and on PostgreSQL while the "
        "notices of other processes are heard.",
        nonzero=True,
    )

    def __post_init__(self) -> None:
        # A look-ahead as long as the horizon would let a deadline fall between two looks
        # without a timer, and be noticed only at the next look, late.
        if self.look_ahead_interval >= self.timer_horizon:
            raise ValueError("--look-ahead-interval must be shorter than --timer-horizon")


def parse_topic_mapping(entry: str) -> tuple[str, str]:
    """`from:to` (`*` as `from` maps every topic); ValueError names what is wrong."""
    source, colon, target = entry.partition(":")
    if not colon or not source or not target:
        raise ValueError(f"{entry!r} is not a topic mapping from:to (e.g. *:stack1-orchestration)")
    return source, target


@dataclass(frozen=True, kw_only=True)
class BusSettings:
    """The event bus: Formance events in (triggers) and this service's events out (NATS JetStream).

    Names are the original's (`--publisher-…`): one connection both consumes and publishes.
    """

    topics: tuple[str, ...] = setting(
        (), "--topics", "Subjects whose Formance events fire triggers (e.g. stack1-ledger stack1-payments).",
        multiple=True,
    )
    nats_enabled: bool = setting(False, "--publisher-nats-enabled", "Use NATS JetStream as the event bus.")
    nats_url: str = setting(
        "nats://127.0.0.1:4222", "--publisher-nats-url", "NATS server URL(s), comma-separated.",
        secret=True,  # it may carry a user and password
    )
    nats_client_id: str = setting("orchestration", "--publisher-nats-client-id", "Connection name shown by NATS.")
    nats_max_reconnect: int = setting(
        -1, "--publisher-nats-max-reconnect", "Reconnection attempts after losing NATS (-1: for ever).", minimum=-1
    )
    nats_reconnect_wait: timedelta = setting(
        timedelta(seconds=2), "--publisher-nats-reconnect-wait", "Pause between two reconnection attempts.",
        nonzero=True,
    )
    nats_auto_provision: bool = setting(
        True, "--publisher-nats-auto-provision",
        "Create a JetStream stream named after a topic when no stream captures its subject.",
    )
    queue_group: str = setting(
        "orchestration", "--publisher-queue-group", "Durable consumer shared by every worker (each event once)."
    )
    ack_wait: timedelta = setting(
        timedelta(seconds=30), "--publisher-nats-ack-wait",
        "How long a message taken by a worker that died waits before another gets it (for consumers created "
        "from now on).",
        nonzero=True,
    )
    topic_mapping: tuple[str, ...] = setting(
        (), "--publisher-topic-mapping",
        "Subject of the published events: `orchestration:<subject>` or `*:<subject>` (e.g. *:stack1-orchestration).",
        multiple=True, check=parse_topic_mapping,
    )

    def __post_init__(self) -> None:
        if (self.topics or self.topic_mapping) and not self.nats_enabled:
            raise ValueError("--topics and --publisher-topic-mapping need --publisher-nats-enabled")


@dataclass(frozen=True, kw_only=True)
class WebhookSettings:
    """Signed Formance webhooks in at `POST /v2/webhooks`: triggers without a bus."""

    secrets: tuple[str, ...] = setting(
        (), "--webhooks-secret",
        "Secret shared with the Formance Webhooks service (several: rotation). None: the endpoint is off.",
        commands=_SERVE, multiple=True, secret=True,
    )


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    """Who may call the API (§2.2): bearer JWTs of an OpenID issuer, with scopes."""

    enabled: bool = setting(False, "--auth-enabled", "Require a bearer token on every API route.", commands=_SERVE)
    issuer: str = setting(
        "", "--auth-issuer", "OpenID issuer of the tokens (default: $STACK_PUBLIC_URL/api/auth).", commands=_SERVE
    )
    stack_public_url: str = setting(
        "", "--stack-public-url", "Public URL of the Formance stack; its /api/auth is the default issuer.",
        commands=_SERVE,
    )
    read_key_set_max_retries: int = setting(
        10, "--auth-read-key-set-max-retries",
        "Attempts to read the issuer's keys at start-up, a second apart (then at most one reading a second).",
        commands=_SERVE, minimum=1,
    )
    check_scopes: bool = setting(
        False, "--auth-check-scopes",
        "Reads need <service>:read or <service>:write in the token's scope; other methods <service>:write.",
        commands=_SERVE,
    )
    service: str = setting("orchestration", "--auth-service", "The scopes' prefix.", commands=_SERVE)

    @property
    def issuer_url(self) -> str:
        """The issuer as tokens name it in `iss` (as given: a trailing slash is part of it)."""
        if self.issuer:
            return self.issuer
        return f"{self.stack_public_url.rstrip('/')}/api/auth" if self.stack_public_url else ""

    def __post_init__(self) -> None:
        if self.enabled and not self.issuer_url:
            raise ValueError("--auth-enabled needs --auth-issuer (or --stack-public-url)")


def _one_of(allowed: tuple[str, ...], what: str) -> Callable[[str], None]:
    """A check refusing any value but `allowed`; the error says the value is not `what`."""

    def check(value: str) -> None:
        if value not in allowed:
            raise ValueError(f"{value!r} is not {what}")

    return check


def _resource_attribute(value: str) -> None:
    if not value.partition("=")[0].strip() or "=" not in value:
        raise ValueError(f"{value!r} is not key=value")


@dataclass(frozen=True, kw_only=True)
class TracesSettings:
    """OpenTelemetry traces (names of the original's go-libs flags)."""

    exporter: str = setting(
        "", "--otel-traces-exporter", "`otlp`: export traces over OTLP; empty: no traces (and no cost).",
        check=_one_of(("", "otlp"), "a traces exporter: `otlp`, or empty for none"),
    )
    otlp_endpoint: str = setting(
        "", "--otel-traces-exporter-otlp-endpoint",
        "OTLP collector, host:port or URL (empty: the exporter's default, or OTEL_EXPORTER_OTLP_ENDPOINT).",
    )
    otlp_mode: str = setting(
        "grpc", "--otel-traces-exporter-otlp-mode", "OTLP over `grpc` or `http` (protobuf).",
        check=_one_of(("grpc", "http"), "an OTLP mode: grpc or http"),
    )
    otlp_insecure: bool = setting(
        False, "--otel-traces-exporter-otlp-insecure", "Plain-text connection to the collector (no TLS)."
    )
    service_name: str = setting("orchestration", "--otel-service-name", "The traces' service.name.")
    resource_attributes: tuple[str, ...] = setting(
        (), "--otel-resource-attributes", "More attributes of the traces' resource, key=value (e.g. env=prod).",
        multiple=True, check=_resource_attribute,
    )


@dataclass(frozen=True, kw_only=True)
class MetricsSettings:
    """Prometheus metrics."""

    open: bool = setting(
        False, "--metrics-open",
        "Serve /metrics without a token even when --auth-enabled (for a scraper on a private network).",
        commands=_SERVE,
    )
    listen: str = setting(
        "", "--metrics-listen",
        "host:port of a /metrics endpoint of its own, without auth (a `worker` has no other; empty: none).",
        check=lambda value: parse_listen(value) if value else None,
    )


@dataclass(frozen=True, kw_only=True)
class LogSettings:
    """What the process logs, and how."""

    debug: bool = setting(False, "--debug", "Debug logging.", commands=_ALL)
    json: bool = setting(False, "--json-formatting-logger", "One JSON object per log line.", commands=_ALL)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a process is configured with, built once by the command line."""

    worker: bool = setting(
        True, "--worker", "Also run the engine worker in this process (false: API only, needs PostgreSQL).",
        commands=_SERVE,
    )
    storage: StorageSettings = field(default_factory=StorageSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    stack: StackSettings = field(default_factory=StackSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)
    logs: LogSettings = field(default_factory=LogSettings)
    bus: BusSettings = field(default_factory=BusSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    traces: TracesSettings = field(default_factory=TracesSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
