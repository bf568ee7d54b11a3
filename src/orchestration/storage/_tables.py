"""Every table of the service (spec §14), the same on SQLite and PostgreSQL.

Timestamps are naive UTC with microsecond precision, as the original stores them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (§14)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = sa.MetaData()

workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
    sa.Index("workflows_created_idx", "created_at", "id"),
)

workflow_instances = sa.Table(
    "workflow_instances",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("terminated", sa.Boolean, nullable=False, default=False),
    sa.Column("terminated_at", UTCDateTime, nullable=True),
    sa.Column("error", sa.String, nullable=True),
    # The run's input, kept so an instance whose engine start was lost can be started again.
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Index("workflow_instances_created_idx", "created_at", "id"),
    sa.Index("workflow_instances_workflow_idx", "workflow_id"),
    sa.Index("workflow_instances_terminated_at_idx", "terminated_at"),
)

# One row per started stage; it also carries the stage-history entry (§10.1).
stage_statuses = sa.Table(
    "workflow_instance_stage_statuses",
    metadata,
    sa.Column("instance_id", sa.String, sa.ForeignKey("workflow_instances.id"), primary_key=True),
    sa.Column("stage", sa.Integer, primary_key=True),
    sa.Column("temporal_run_id", sa.String, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("terminated_at", UTCDateTime, nullable=True),
    sa.Column("error", sa.String, nullable=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("input", sa.JSON, nullable=False),
)

# Events sent to instances; kept until a wait_event stage waiting for that name consumes them.
instance_events = sa.Table(
    "instance_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", sa.String, sa.ForeignKey("workflow_instances.id"), nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("consumed_by_stage", sa.Integer, nullable=True),
    sa.Index("instance_events_pending_idx", "instance_id", "consumed_by_stage"),
    # The waker looks for unconsumed events of every instance at once.
    sa.Index("instance_events_unconsumed_idx", "consumed_by_stage", "instance_id"),
)

# Instances parked in a long wait (delay, wait_event): no engine workflow runs for them
# until the wait is over and a continuation is started. Deleted when the instance ends.
instance_waits = sa.Table(
    "instance_waits",
    metadata,
    sa.Column("instance_id", sa.String, sa.ForeignKey("workflow_instances.id"), primary_key=True),
    sa.Column("stage", sa.Integer, primary_key=True),
    sa.Column("event", sa.String, nullable=True),  # wait_event: the name waited for
    sa.Column("wake_at", UTCDateTime, nullable=True),  # delay: the deadline
    sa.Column("parked_at", UTCDateTime, nullable=False),
    sa.Column("woken_at", UTCDateTime, nullable=True),  # when its continuation took over
    # When the wait is over: a delay's deadline, set as it parks; the time its event came,
    # set in the event's transaction. Waking reads this index, and nothing else.
    sa.Column("due_at", UTCDateTime, nullable=True),
    sa.Index("instance_waits_due_idx", "woken_at", "due_at"),
)

# One row per engine worker process, refreshed while it lives.
engine_executors = sa.Table(
    "engine_executors",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
)

# Instances run through an API-only server (`serve --worker=false`), written with the instance's
# row, until a worker takes them to start (oldest first).
instance_starts = sa.Table(
    "instance_starts",
    metadata,
    sa.Column("instance_id", sa.String, primary_key=True),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Index("instance_starts_requested_idx", "requested_at"),
)

# One row per activity (call to the Formance stack) of a stage, updated at each attempt (§10.2).
stage_activities = sa.Table(
    "stage_activities",
    metadata,
    sa.Column("instance_id", sa.String, sa.ForeignKey("workflow_instances.id"), primary_key=True),
    sa.Column("stage", sa.Integer, primary_key=True),
    sa.Column("sequence", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("input", sa.JSON, nullable=False),
    sa.Column("output", sa.JSON, nullable=True),
    sa.Column("error", sa.String, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("terminated_at", UTCDateTime, nullable=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("last_failure", sa.String, nullable=True),
    sa.Column("next_execution", UTCDateTime, nullable=True),
    # The remote's code for `error` (failed for good) or `last_failure` (to be tried again).
    sa.Column("error_code", sa.String, nullable=True),
    sa.Index("stage_activities_unfinished_idx", "terminated_at"),
)

# Triggers (§3.6): which event starts which workflow, with a filter and variables. Soft deleted.
triggers = sa.Table(
    "triggers",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("workflow_id", sa.String, sa.ForeignKey("workflows.id"), nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("event", sa.String, nullable=False),
    sa.Column("version", sa.String, nullable=True),
    sa.Column("filter", sa.String, nullable=True),
    sa.Column("vars", sa.JSON, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=True),
    sa.Index("triggers_created_idx", "created_at", "id"),
    sa.Index("triggers_event_idx", "event"),
)

# What each trigger did with each event it matched (§3.7): an instance started, or an error.
# `dispatch_key` names the message (its idempotency key, its hash, or a webhook id): a message
# delivered again finds its occurrence and starts nothing more.
trigger_occurrences = sa.Table(
    "triggers_occurrences",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("trigger_id", sa.String, sa.ForeignKey("triggers.id"), nullable=False),
    # Checked at commit: the occurrence is written before the instance it names.
    sa.Column(
        "workflow_instance_id",
        sa.String,
        sa.ForeignKey("workflow_instances.id", deferrable=True, initially="DEFERRED"),
        nullable=True,
    ),
    sa.Column("date", UTCDateTime, nullable=False),
    sa.Column("event", sa.JSON, nullable=False),
    sa.Column("error", sa.String, nullable=True),
    sa.Column("dispatch_key", sa.String, nullable=False),
    sa.UniqueConstraint("trigger_id", "dispatch_key", name="triggers_occurrences_dispatch_key"),
    sa.Index("triggers_occurrences_listed_idx", "trigger_id", "date", "id"),
)

# Q-20 as the newest upstream: a SAVED_PAYMENT / SAVED_ACCOUNT fires a trigger at most once per
# object (`payload.id`), recorded when that trigger matched.
trigger_objects = sa.Table(
    "trigger_objects",
    metadata,
    sa.Column("trigger_id", sa.String, sa.ForeignKey("triggers.id"), primary_key=True),
    sa.Column("object_id", sa.String, primary_key=True),
)

# Events to publish on the bus, written in the transaction of the change they report and
# sent behind it (at least once; `key` is the idempotency key consumers deduplicate on).
outbox_events = sa.Table(
    "outbox_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("type", sa.String, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=True),
    sa.Index("outbox_events_pending_idx", "published_at", "seq"),
)
