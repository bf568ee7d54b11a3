"""Trigger dispatch: a Formance event (from the bus or a webhook) starts the workflows of the
triggers it matches (spec §11.4–§11.6, as amended by FLOWS-2026 §23).

Exactly once per trigger and message: a message is named by its key (the envelope's
`idempotency_key`, else a hash of its bytes, or the webhook id), the instance a trigger starts
for it has an id derived from (trigger, key), and the occurrence, the instance row and the
events to publish are written in one transaction. A message delivered again finds them and
starts nothing more. The engine start follows the commit (it is idempotent by instance id).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestration import events, storage
from orchestration.errors import ValidationFailed
from orchestration.limits import load_json
from orchestration.observability import metrics

from ._catalog import TriggerCatalog
from ._expressions import LinkFetcher, VariableResult, first_error, run_filter, run_variables, variables_of
from .instances import InstanceStarter, new_instance

log = logging.getLogger(__name__)

ONCE_PER_OBJECT = frozenset({"SAVED_PAYMENT", "SAVED_ACCOUNT"})
"""Event types that fire a trigger at most once per `payload.id` (Q-20, per trigger)."""

STAGES_KEPT = 1_000
"""Workflow definitions kept in memory by dispatch (forgotten all at once beyond)."""

_INSTANCE_IDS = uuid.UUID("6f1c1b9e-4f3e-5a4c-9a53-0c8e2f6a7d10")
"""Namespace of the instance ids derived from (trigger, message key)."""


class MalformedEvent(ValueError):
    """A message that is no Formance event envelope: logged and dropped (acknowledged)."""


@dataclass(frozen=True)
class Envelope:
    """A Formance event (§11.2); only these six keys are read and kept (Q-47)."""

    idempotency_key: str
    date: str
    app: str
    version: str
    type: str
    payload: Any

    def stored(self) -> dict[str, Any]:
        return asdict(self)


def decode_envelope(raw: bytes) -> Envelope:
    """The envelope of a message, within the bounds of what can be stored (an occurrence keeps it)."""
    try:
        body = load_json(raw.decode("utf-8"))
    except (ValueError, ValidationFailed) as exc:
        raise MalformedEvent(f"not storable JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MalformedEvent("not a JSON object")
    fields: dict[str, str] = {}
    for key in ("idempotency_key", "date", "app", "version", "type"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise MalformedEvent(f"'{key}' is not a string")
        fields[key] = value or ""
    if not fields["type"]:
        raise MalformedEvent("no 'type'")
    try:
        datetime.fromisoformat(fields["date"].replace("Z", "+00:00"))
    except ValueError:
        raise MalformedEvent(f"'date' is not an RFC 3339 time: {fields['date']!r}") from None
    return Envelope(payload=body.get("payload"), **fields)


def message_key(envelope: Envelope, *, otherwise: str) -> str:
    """What names a message: its idempotency key, or `otherwise` (what its transport names it by)."""
    return envelope.idempotency_key or otherwise


def content_key(raw: bytes) -> str:
    """A bus message without an idempotency key is named by its bytes."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def instance_id_for(trigger_id: str, key: str) -> str:
    return str(uuid.uuid5(_INSTANCE_IDS, f"{trigger_id}\n{key}"))


@dataclass
class DispatchOutcome:
    """What one message did: instances started, occurrences failed, triggers skipped."""

    started: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """Occurrence ids of triggers whose variables failed."""
    duplicates: int = 0
    """Matching triggers that had already fired for this message or object."""
    workflows_started: list[str] = field(default_factory=list)
    """The workflow of each instance of `started`."""


@dataclass(frozen=True)
class _Firing:
    trigger: storage.TriggerRow
    variables: dict[str, VariableResult]


class TriggerDispatcher:
    def __init__(
        self,
        db: storage.Database,
        engine: InstanceStarter,
        links: LinkFetcher | None,
        catalog: TriggerCatalog,
        *,
        publish_events: bool = False,
    ) -> None:
        self._db = db
        self._catalog = catalog
        self._engine = engine
        self._links = links
        self._publish_events = publish_events
        self._stages: dict[str, list[Any]] = {}

    async def handle_message(self, subject: str, data: bytes) -> None:
        """A bus message: dispatched, or logged and dropped when malformed. Returns once the
        dispatch is recorded (the message may then be acknowledged); raises if it is not."""
        try:
            envelope = decode_envelope(data)
        except MalformedEvent as exc:
            log.warning("dropping a message of %s that is no Formance event: %s", subject, exc)
            return
        await self.dispatch(envelope, key=message_key(envelope, otherwise=content_key(data)))

    async def dispatch(self, envelope: Envelope, *, key: str) -> DispatchOutcome:
        candidates = await self._catalog.for_event(envelope.type, envelope.version)
        matched = [t for t in candidates if await self._matches(t, envelope)]
        outcome = DispatchOutcome()
        if not matched:
            return outcome
        object_id = None
        if envelope.type in ONCE_PER_OBJECT:
            # no `id` counts as the id "" (all such events are one object per trigger).
            object_id = envelope.payload.get("id", "") if isinstance(envelope.payload, dict) else ""
            if not isinstance(object_id, str):
                log.warning("dropping a %s event whose payload 'id' is not a string", envelope.type)
                return outcome
        firings = [_Firing(t, await run_variables(t.vars, envelope.payload, self._links)) for t in matched]
        to_start: list[_Start] = []
        now = datetime.now(UTC)
        async with self._db.begin() as conn:
            for firing in firings:
                start = await self._fire(conn, firing, envelope, key, object_id, now, outcome)
                if start is not None:
                    to_start.append(start)
        _count(outcome)
        for start in to_start:
            await self._engine.start_instance(start.instance_id, start.stages, start.variables)
        return outcome

    async def _matches(self, trigger: storage.TriggerRow, envelope: Envelope) -> bool:
        result = await run_filter(trigger.filter, envelope.payload, self._links)
        if result is not None and result.error is not None:
            metrics.FILTER_ERRORS.inc()
            log.info(
                "filter of trigger %s failed on a %s event (no match): %s", trigger.id, envelope.type, result.error,
                extra={"trigger_id": trigger.id, "workflow_id": trigger.workflow_id},
            )
        return result is None or result.match

    async def _fire(
        self,
        conn: Any,
        firing: _Firing,
        envelope: Envelope,
        key: str,
        object_id: str | None,
        now: datetime,
        outcome: DispatchOutcome,
    ) -> _Start | None:
        """Record what one trigger does with the message; the instance to start, if any.

        The occurrence is written first: it is unique per (trigger, message), so a message
        delivered again stops here, and an instance never exists without the occurrence that
        started it (the reference is checked at commit).
        """
        trigger = firing.trigger
        failure = first_error(firing.variables)
        instance_id = None if failure else instance_id_for(trigger.id, key)
        occurrence = storage.OccurrenceRow(
            id=str(uuid.uuid4()),
            trigger_id=trigger.id,
            workflow_instance_id=instance_id,
            date=now,
            event=envelope.stored(),
            error=failure[1] if failure else None,
            dispatch_key=key,
        )
        if not await storage.insert_occurrence(conn, occurrence):
            # Delivered again. Its instance was started, unless the process died between the
            # commit and the engine start; starting it again is harmless (same id).
            outcome.duplicates += 1
            fired = await storage.find_occurrence(conn, trigger.id, key)
            if fired is None or fired.workflow_instance_id is None:
                return None
            return await self._restart(conn, fired.workflow_instance_id)
        if object_id is not None and not await storage.claim_object(conn, trigger.id, object_id):
            await storage.forget_occurrence(conn, occurrence.id)
            outcome.duplicates += 1  # this payment or account fired this trigger already
            return None
        if failure is not None:
            name, error = failure
            log.warning(
                "trigger %s: variable '%s' failed on a %s event: %s", trigger.id, name, envelope.type, error,
                extra={"trigger_id": trigger.id, "workflow_id": trigger.workflow_id, "occurrence_id": occurrence.id},
            )
            await self._report(conn, [events.trigger_failed(occurrence.id, trigger.id, error)], now)
            outcome.failed.append(occurrence.id)
            return None
        assert instance_id is not None
        variables = variables_of(firing.variables)
        await storage.insert_instance(conn, new_instance(instance_id, trigger.workflow_id, variables, now))
        await self._engine.request_start(conn, instance_id, now)
        await self._report(
            conn,
            [
                events.workflow_started(trigger.workflow_id, instance_id),
                events.trigger_succeeded(occurrence.id, trigger.id, instance_id),
            ],
            now,
        )
        outcome.started.append(instance_id)
        outcome.workflows_started.append(trigger.workflow_id)
        return _Start(instance_id, await self._stages_of(conn, trigger.workflow_id), variables)

    async def _report(self, conn: Any, reported: list[events.Event], now: datetime) -> None:
        if self._publish_events:
            await storage.record_events(conn, reported, now=now)

    async def _stages_of(self, conn: Any, workflow_id: str) -> list[Any]:
        """A trigger's workflow's stages, deleted or not (§11.4: a deleted workflow still runs).
        Definitions never change: each is read once."""
        stages = self._stages.get(workflow_id)
        if stages is None:
            workflow = await storage.get_workflow(conn, workflow_id)
            stages = (workflow.config.get("stages") if workflow else None) or []
            if len(self._stages) >= STAGES_KEPT:
                self._stages.clear()
            self._stages[workflow_id] = stages
        return stages

    async def _restart(self, conn: Any, instance_id: str) -> _Start | None:
        instance = await storage.get_instance(conn, instance_id)
        if instance is None or instance.terminated:
            return None
        return _Start(instance_id, await self._stages_of(conn, instance.workflow_id), instance.variables)


def _count(outcome: DispatchOutcome) -> None:
    """What one committed message did, in the metrics."""
    for workflow_id in outcome.workflows_started:
        metrics.INSTANCES_STARTED.labels(workflow_id).inc()
    metrics.TRIGGER_OCCURRENCES.labels("started").inc(len(outcome.started))
    metrics.TRIGGER_OCCURRENCES.labels("failed").inc(len(outcome.failed))
    metrics.TRIGGER_OCCURRENCES.labels("duplicate").inc(outcome.duplicates)


@dataclass(frozen=True)
class _Start:
    """An instance to start once its rows are committed."""

    instance_id: str
    stages: list[Any]
    variables: dict[str, str]
