"""Storage: SQLAlchemy Core tables and queries, the same on SQLite and PostgreSQL.

Every query takes a connection opened by the caller (one use case, one transaction)
and returns frozen rows.
"""

from ._activities import CANCELLED, begin_attempt, cancel_activities, finish_activity, list_activities, schedule_retry
from ._database import Database, database_url
from ._events import consume_event, event_ready, insert_event, instances_with_pending_events
from ._executors import beat, claim_dead, release
from ._gauges import count_gauges
from ._instances import (
    CANCELED,
    cancel_instance,
    finish_stage,
    get_instance,
    get_stage,
    insert_instance,
    instances_terminated_since,
    list_instances,
    list_stages,
    list_unfinished_instance_ids,
    lock_instance,
    start_stage,
    terminate_instance,
)
from ._migrate import migrate, pending_revisions
from ._outbox import forget_published, mark_published, pending_events, record_events, take_relay_turn
from ._rows import (
    ActivityRow,
    DueWaitRow,
    InstanceRow,
    OccurrenceRow,
    OccurrenceView,
    OutboxRow,
    StageRow,
    TriggerRow,
    WaitRow,
    WorkflowRow,
)
from ._triggers import (
    claim_object,
    find_occurrence,
    forget_occurrence,
    get_trigger,
    insert_occurrence,
    insert_trigger,
    list_occurrences,
    list_triggers,
    live_triggers,
    soft_delete_trigger,
    triggers_stamp,
)
from ._waits import due_waits, get_wait, mark_woken, park, upcoming_deadlines
from ._workflows import get_workflow, insert_workflow, list_workflows, soft_delete_workflow

__all__ = [
    "count_gauges",
    "OccurrenceRow",
    "OccurrenceView",
    "OutboxRow",
    "TriggerRow",
    "claim_object",
    "find_occurrence",
    "forget_occurrence",
    "get_trigger",
    "insert_occurrence",
    "insert_trigger",
    "list_occurrences",
    "list_triggers",
    "forget_published",
    "mark_published",
    "take_relay_turn",
    "pending_events",
    "record_events",
    "soft_delete_trigger",
    "live_triggers",
    "triggers_stamp",
    "ActivityRow",
    "CANCELLED",
    "begin_attempt",
    "cancel_activities",
    "finish_activity",
    "list_activities",
    "schedule_retry",
    "CANCELED",
    "Database",
    "DueWaitRow",
    "InstanceRow",
    "StageRow",
    "WaitRow",
    "WorkflowRow",
    "due_waits",
    "get_wait",
    "mark_woken",
    "park",
    "beat",
    "cancel_instance",
    "claim_dead",
    "consume_event",
    "database_url",
    "event_ready",
    "finish_stage",
    "get_instance",
    "get_stage",
    "get_workflow",
    "insert_event",
    "insert_instance",
    "insert_workflow",
    "instances_terminated_since",
    "instances_with_pending_events",
    "list_instances",
    "list_stages",
    "list_unfinished_instance_ids",
    "list_workflows",
    "lock_instance",
    "migrate",
    "pending_revisions",
    "release",
    "soft_delete_workflow",
    "start_stage",
    "terminate_instance",
    "upcoming_deadlines",
]
