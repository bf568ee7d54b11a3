"""An instance's stage timeline, read from the API, drawn, and followed live until the instance ends.

One line per stage of the workflow: its type (from the definition), its state, when it started
and ended, how long it took, how many attempts its calls took, and its error — or, while a call
is being retried, the last failure and when the next attempt runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.live import Live
from rich.text import Text

from orchestration.client._errors import ApiError
from orchestration.client._http import Api, path
from orchestration.client._output import (
    cell,
    console,
    details,
    elapsed,
    instance_state,
    outcome,
    state,
    table,
    when,
)


@dataclass(frozen=True)
class StageLine:
    """One stage of an instance, as the timeline shows it."""

    number: int
    type: str
    state: str
    """`pending`, `running`, `retrying`, `succeeded`, `failed`, `canceled` or `not run`."""
    started: str | None
    ended: str | None
    attempts: int | None
    """Attempts of the stage's calls to the stack, summed; None for a stage that makes none."""
    error: str


@dataclass(frozen=True)
class Snapshot:
    """An instance (the API's `data`) and its stages, read at one moment."""

    instance: dict[str, Any]
    workflow_name: str
    stages: list[StageLine]

    @property
    def ended(self) -> bool:
        return bool(self.instance.get("terminated"))


class Timeline:
    """Reads an instance and the calls of its stages; keeps what can no longer change."""

    def __init__(self, api: Api, instance_id: str) -> None:
        self._api = api
        self._id = instance_id
        self._workflow: dict[str, Any] | None = None
        self._finished_calls: dict[int, list[dict[str, Any]]] = {}

    def read(self, *, stages: bool = True) -> Snapshot:
        """The instance as it is now: one request, and with `stages` one per stage still running."""
        instance = self._api.data("GET", path("instances", self._id))
        if not isinstance(instance, dict):
            raise ApiError(f"GET /instances/{self._id} answered without an instance: is this an orchestration server?")
        if not stages:
            return Snapshot(instance, "", [])
        definition = self._definition(instance)
        rows = instance.get("status")
        statuses = {
            row["stage"]: row
            for row in (rows if isinstance(rows, list) else [])
            if isinstance(row, dict) and isinstance(row.get("stage"), int)
        }
        count = max(len(definition), max(statuses, default=-1) + 1)
        lines = [self._line(n, definition, statuses.get(n), instance) for n in range(count)]
        config = (self._workflow or {}).get("config")
        name = config.get("name") if isinstance(config, dict) else ""
        return Snapshot(instance, name if isinstance(name, str) else "", lines)

    def _definition(self, instance: dict[str, Any]) -> list[Any]:
        """The workflow's stages: embedded in the instance (FLOWS-2026 §24), else read once."""
        if self._workflow is None:
            embedded = instance.get("workflow")
            if isinstance(embedded, dict):
                self._workflow = embedded
            else:
                found = self._api.data("GET", path("workflows", str(instance.get("workflowID"))), missing_ok=True)
                self._workflow = found if isinstance(found, dict) else {}
        config = self._workflow.get("config")
        stages = config.get("stages") if isinstance(config, dict) else None
        return stages if isinstance(stages, list) else []

    def _line(
        self, number: int, definition: list[Any], status: dict[str, Any] | None, instance: dict[str, Any]
    ) -> StageLine:
        element = definition[number] if number < len(definition) else None
        kind = next(iter(element)) if isinstance(element, dict) and len(element) == 1 else "?"
        if status is None:
            return StageLine(number, kind, "not run" if instance.get("terminated") else "pending", None, None, None, "")
        ended, error = status.get("terminatedAt"), str(status.get("error") or "")
        calls = self._calls(number, finished=ended is not None)
        attempts = sum(_attempts(call) for call in calls) if calls else None
        if ended is not None:
            return StageLine(number, kind, outcome(error), status.get("startedAt"), ended, attempts, error)
        pending = next((call for call in calls if not call.get("terminated") and call.get("lastFailure")), None)
        if pending is None:
            return StageLine(number, kind, "running", status.get("startedAt"), None, attempts, "")
        retry = (
            f"{pending.get('name')} failed: {pending.get('lastFailure')}; "
            f"next attempt at {when(pending.get('nextExecution'))}"
        )
        return StageLine(number, kind, "retrying", status.get("startedAt"), None, attempts, retry)

    def _calls(self, number: int, *, finished: bool) -> list[dict[str, Any]]:
        if number in self._finished_calls:
            return self._finished_calls[number]
        # a stage that failed while its configuration was resolved has no history (404).
        found = self._api.data(
            "GET", path("instances", self._id, "stages", number, "history"), missing_ok=True, kind=list
        )
        calls = [call for call in found if isinstance(call, dict)] if isinstance(found, list) else []
        if finished:
            self._finished_calls[number] = calls
        return calls


def _attempts(call: dict[str, Any]) -> int:
    attempt = call.get("attempt")
    return attempt if isinstance(attempt, int) and attempt > 0 else 1


def render(snapshot: Snapshot) -> RenderableType:
    """The instance's details, then its timeline."""
    instance = snapshot.instance
    workflow = str(instance.get("workflowID", ""))
    shown = instance_state(instance)
    rows: list[tuple[str, Text | str]] = [
        ("Instance", str(instance.get("id", ""))),
        ("Workflow", f"{workflow} ({snapshot.workflow_name})" if snapshot.workflow_name else workflow),
        ("State", state(shown)),
        ("Created", when(instance.get("createdAt"))),
    ]
    if instance.get("terminatedAt"):
        rows.append(("Ended", when(instance.get("terminatedAt"))))
        rows.append(("Took", elapsed(instance.get("createdAt"), instance.get("terminatedAt"))))
    if instance.get("error"):
        rows.append(("Error", Text(str(instance["error"]), style="red")))
    now = datetime.now(UTC)
    timeline = table("STAGE", "TYPE", "STATE", "STARTED (UTC)", "ENDED (UTC)", "DURATION", "ATTEMPTS", "ERROR")
    for line in snapshot.stages:
        timeline.add_row(
            str(line.number),
            cell(line.type),
            state(line.state),
            when(line.started),
            when(line.ended),
            elapsed(line.started, line.ended, now=now),
            "" if line.attempts is None else str(line.attempts),
            cell(line.error),
        )
    return Group(details(rows), timeline)


def follow(timeline: Timeline, *, interval: float, show: bool) -> Snapshot:
    """Read the instance until it ends; its last snapshot. With `show`, draw it: live on a terminal,
    redrawn after each read, and once it has ended when the output is piped."""
    out = console()
    snapshot = timeline.read()
    if show and out.is_terminal:
        with Live(render(snapshot), console=out, auto_refresh=False) as display:
            return _until_ended(timeline, snapshot, interval, lambda s: display.update(render(s), refresh=True))
    snapshot = _until_ended(timeline, snapshot, interval, lambda _: None)
    if show:
        out.print(render(snapshot))
    return snapshot


def _until_ended(timeline: Timeline, snapshot: Snapshot, interval: float, show: Callable[[Snapshot], None]) -> Snapshot:
    while not snapshot.ended:
        time.sleep(interval)
        snapshot = timeline.read()
        show(snapshot)
    return snapshot
