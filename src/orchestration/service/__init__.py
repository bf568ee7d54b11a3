"""Use cases: what the HTTP API (and the CLI) can do, with no HTTP and no SQL."""

from dataclasses import dataclass

from orchestration.storage import ActivityRow, InstanceRow, StageRow, WorkflowRow

from ._pages import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageQuery, page_query, parse_page_size
from .instances import InstanceService, InstanceStarter, InstanceView
from .workflows import MAX_STAGES, WorkflowService, is_canonical_id


@dataclass(frozen=True)
class Services:
    """Everything the API layer calls."""

    workflows: WorkflowService
    instances: InstanceService


__all__ = [
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
    "Page",
    "PageQuery",
    "Services",
    "WorkflowService",
    "is_canonical_id",
    "page_query",
    "parse_page_size",
]
