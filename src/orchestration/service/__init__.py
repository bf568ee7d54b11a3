"""Use cases: what the HTTP API (and the CLI) can do, with no HTTP and no SQL."""

from dataclasses import dataclass

from orchestration.storage import ActivityRow, InstanceRow, OccurrenceView, StageRow, TriggerRow, WorkflowRow

from ._catalog import TriggerCatalog
from ._expressions import LinkFetcher
from ._pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageQuery, page_query, parse_page_size
from .dispatch import DispatchOutcome, Envelope, MalformedEvent, TriggerDispatcher, decode_envelope, message_key
from .health import DATABASE_ERRORS, HealthService, database_unreachable
from .instances import InstanceService, InstanceStarter, InstanceView
from .metrics import MetricsService
from .relay import EventRelay
from .triggers import TestResult, TriggerNotFound, TriggerService
from .webhooks import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, Delivery, WebhookReceiver
from .workflows import MAX_STAGES, WorkflowService, is_canonical_id


@dataclass(frozen=True)
class Services:
    """Everything the API layer calls."""

    workflows: WorkflowService
    instances: InstanceService
    triggers: TriggerService
    webhooks: WebhookReceiver
    health: HealthService
    metrics: MetricsService


__all__ = [
    "DATABASE_ERRORS",
    "database_unreachable",
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Delivery",
    "DispatchOutcome",
    "Envelope",
    "EventRelay",
    "HealthService",
    "LinkFetcher",
    "MalformedEvent",
    "OccurrenceView",
    "TestResult",
    "TriggerCatalog",
    "TriggerDispatcher",
    "TriggerNotFound",
    "TriggerRow",
    "TriggerService",
    "WebhookReceiver",
    "decode_envelope",
    "message_key",
    "ActivityRow",
    "InstanceRow",
    "StageRow",
    "WorkflowRow",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_STAGES",
    "InstanceService",
    "InstanceStarter",
    "InstanceView",
    "MetricsService",
    "Page",
    "PageQuery",
    "Services",
    "WorkflowService",
    "is_canonical_id",
    "page_query",
    "parse_page_size",
]
