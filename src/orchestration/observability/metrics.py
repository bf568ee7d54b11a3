"""The Prometheus metrics of one process, all named `orchestration_…`.

Counters count what this process did since it started (Prometheus' `rate()` and
`increase()` handle the reset of a restart). Gauges describe the whole service and are
read from the database when `/metrics` is scraped (`service.metrics`), so they are right
after a restart and the same whichever process answers.

Counters are bumped where the effect is committed, not in workflow code: DBOS replays
workflow code after a crash, but a step that has run is not run again.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # the `_created` series only add noise
REGISTRY = CollectorRegistry()
"""Ours only: nothing a library registers globally leaks into `/metrics`."""
ProcessCollector(registry=REGISTRY)  # CPU, memory, open files of this process
PlatformCollector(registry=REGISTRY)

CONTENT_TYPE = CONTENT_TYPE_LATEST

# -- instances --------------------------------------------------------------------------------------------------

INSTANCES_STARTED = Counter(
    "orchestration_instances_started", "Instances created by this process (API or trigger).", ["workflow"],
    registry=REGISTRY,
)
INSTANCES_SUCCEEDED = Counter(
    "orchestration_instances_succeeded", "Instances that ended without error, in this process.", ["workflow"],
    registry=REGISTRY,
)
INSTANCES_FAILED = Counter(
    "orchestration_instances_failed", "Instances that ended with an error, in this process.", ["workflow"],
    registry=REGISTRY,
)
INSTANCES_CANCELED = Counter(
    "orchestration_instances_canceled", "Instances aborted through this process.", ["workflow"], registry=REGISTRY
)
STAGE_DURATION = Histogram(
    "orchestration_stage_duration_seconds", "Time from the start of a stage to its end, by stage type.", ["type"],
    # From an instant noop to a delay of days.
    buckets=(0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600, 6 * 3600, 86400, float("inf")),
    registry=REGISTRY,
)

# -- activities (calls to the Formance stack) -------------------------------------------------------------------

ACTIVITY_ATTEMPTS = Counter(
    "orchestration_activity_attempts", "Attempts of activities (calls to Ledger, Wallets, Payments).", ["activity"],
    registry=REGISTRY,
)
ACTIVITY_FAILURES = Counter(
    "orchestration_activity_failures", "Failed attempts, by activity and the remote's error code.",
    ["activity", "code"], registry=REGISTRY,
)

# -- triggers and the bus ---------------------------------------------------------------------------------------

TRIGGER_OCCURRENCES = Counter(
    "orchestration_trigger_occurrences",
    "What matching triggers did with an event: started (an instance), failed (a variable failed), "
    "duplicate (already fired for this message or object).",
    ["outcome"], registry=REGISTRY,
)
FILTER_ERRORS = Counter(
    "orchestration_trigger_filter_errors", "Trigger filters that failed to evaluate (counted as no match).",
    registry=REGISTRY,
)
BUS_CONSUMED = Counter(
    "orchestration_bus_messages_consumed", "Messages taken from the bus, by topic.", ["topic"], registry=REGISTRY
)
BUS_ACKED = Counter(
    "orchestration_bus_messages_acked", "Messages acknowledged once handled, by topic.", ["topic"], registry=REGISTRY
)
BUS_REDELIVERED = Counter(
    "orchestration_bus_messages_redelivered", "Messages taken that had been delivered before, by topic.", ["topic"],
    registry=REGISTRY,
)
EVENTS_PUBLISHED = Counter(
    "orchestration_events_published", "Orchestration events published to the bus, by type.", ["type"],
    registry=REGISTRY,
)

# -- workers ----------------------------------------------------------------------------------------------------

TAKEOVERS = Counter(
    "orchestration_takeovers", "Pending instances of silent workers resumed by this process.", registry=REGISTRY
)

# -- read when scraped ------------------------------------------------------------------------------------------

INSTANCES_RUNNING = Gauge("orchestration_instances_running", "Instances not terminated.", registry=REGISTRY)
INSTANCES_PARKED = Gauge(
    "orchestration_instances_parked", "Instances parked in a long wait (no memory held).", registry=REGISTRY
)
RETRIES_PENDING = Gauge(
    "orchestration_activity_retries_pending", "Activities waiting for their next attempt.", registry=REGISTRY
)
EVENTS_PENDING = Gauge(
    "orchestration_events_pending", "Orchestration events recorded and not yet published.", registry=REGISTRY
)
DB_CONNECTIONS_IN_USE = Gauge(
    "orchestration_database_connections_in_use", "Connections of this process's pool in use.", registry=REGISTRY
)
DB_CONNECTIONS_OPEN = Gauge(
    "orchestration_database_connections_open", "Connections this process's pool holds open.", registry=REGISTRY
)


@dataclass(frozen=True)
class ServiceGauges:
    """The service-wide figures, as read from the database."""

    instances_running: int
    instances_parked: int
    retries_pending: int
    events_pending: int


@dataclass(frozen=True)
class PoolUse:
    """This process's connection pool."""

    in_use: int
    open: int


def exposition(gauges: ServiceGauges | None, pool: PoolUse) -> bytes:
    """The text Prometheus reads, with the gauges just read (None: the database did not answer,
    and they are NaN rather than stale)."""
    DB_CONNECTIONS_IN_USE.set(pool.in_use)
    DB_CONNECTIONS_OPEN.set(pool.open)
    service_gauges = (INSTANCES_RUNNING, INSTANCES_PARKED, RETRIES_PENDING, EVENTS_PENDING)
    if gauges is None:
        for gauge in service_gauges:
            gauge.set(float("nan"))
    else:
        INSTANCES_RUNNING.set(gauges.instances_running)
        INSTANCES_PARKED.set(gauges.instances_parked)
        RETRIES_PENDING.set(gauges.retries_pending)
        EVENTS_PENDING.set(gauges.events_pending)
    return generate_latest(REGISTRY)


def stage_type(history_name: str) -> str:
    """The stage type of a history name: `RunSend` → `send`, `RunWaitEvent` → `wait_event`."""
    name = history_name.removeprefix("Run")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_") or "unknown"
