"""`orchestration instances …`: list instances, show and follow one, its histories, events, abort."""

from __future__ import annotations

from typing import Any

import click
from rich.console import RenderableType

from orchestration.client._http import Api, path
from orchestration.client._lists import paging_options, read_list, show_list
from orchestration.client._options import POLL_INTERVAL, with_api
from orchestration.client._output import (
    Format,
    cell,
    done,
    elapsed,
    emit,
    instance_state,
    or_none,
    outcome,
    output_option,
    print_data,
    state,
    table,
    when,
)
from orchestration.client._timeline import Timeline, follow, render


@click.group()
def instances() -> None:
    """List, show, follow and abort instances; send them events."""


@instances.command("list")
@click.option("--workflow", "workflow_id", metavar="ID", help="Only the instances of this workflow.")
@click.option("--running", is_flag=True, help="Only the instances still running.")
@paging_options
@output_option
@with_api
def list_(
    api: Api,
    workflow_id: str | None,
    running: bool,
    page_size: int | None,
    cursor: str | None,
    every: bool,
    output: Format,
) -> None:
    """List the instances (not those of deleted workflows)."""
    filters = {"workflowID": workflow_id} if workflow_id else {}
    if running:
        filters["running"] = "true"
    page = read_list(api, "/instances", filters=filters, page_size=page_size, cursor=cursor, every=every)
    show_list(output, page, _instances_table)


def _instances_table(items: list[Any]) -> RenderableType:
    grid = table("ID", "WORKFLOW", "STATE", "CREATED (UTC)", "ENDED (UTC)", "ERROR")
    for instance in items:
        grid.add_row(
            cell(instance.get("id")),
            cell(instance.get("workflowID")),
            state(instance_state(instance)),
            when(instance.get("createdAt")),
            when(instance.get("terminatedAt")),
            cell(instance.get("error")),
        )
    return or_none(grid, "No instances.")


@instances.command()
@click.argument("instance_id", metavar="ID")
@click.option("--watch", is_flag=True, help="Follow the instance live until it ends.")
@POLL_INTERVAL
@output_option
@with_api
def show(api: Api, instance_id: str, watch: bool, interval: float, output: Format) -> None:
    """Show an instance and the timeline of its stages.

    With --watch and --output json or yaml, the instance is printed once it has ended.
    """
    timeline = Timeline(api, instance_id)
    if watch:
        snapshot = follow(timeline, interval=interval, show=output is Format.TABLE)
        if output is not Format.TABLE:
            print_data(output, snapshot.instance)
        return
    snapshot = timeline.read(stages=output is Format.TABLE)
    emit(output, snapshot.instance, lambda: render(snapshot))


@instances.command()
@click.argument("instance_id", metavar="ID")
@output_option
@with_api
def history(api: Api, instance_id: str, output: Format) -> None:
    """The stages an instance started, with their input."""
    stages = api.data("GET", path("instances", instance_id, "history"), kind=list)
    emit(output, stages, lambda: _history_table(stages))


def _history_table(stages: list[Any]) -> RenderableType:
    grid = table("NAME", "STATE", "STARTED (UTC)", "ENDED (UTC)", "DURATION", "ERROR", "INPUT")
    for stage in stages:
        grid.add_row(
            cell(stage.get("name")),
            state(_ended_state(stage)),
            when(stage.get("startedAt")),
            when(stage.get("terminatedAt")),
            elapsed(stage.get("startedAt"), stage.get("terminatedAt")),
            cell(stage.get("error")),
            cell(stage.get("input")),
        )
    return or_none(grid, "No stage started yet.")


def _ended_state(entry: dict[str, Any]) -> str:
    """A stage's or a call's history entry: its outcome once terminated."""
    if not entry.get("terminated"):
        return "retrying" if entry.get("lastFailure") else "running"
    return outcome(entry.get("error"))


@instances.command("stage-history")
@click.argument("instance_id", metavar="ID")
@click.argument("stage", type=click.IntRange(min=0))
@output_option
@with_api
def stage_history(api: Api, instance_id: str, stage: int, output: Format) -> None:
    """The calls of one stage, with their attempts.

    The calls STAGE (counted from 0) made to the Formance stack, and the one being retried.
    """
    calls = api.data("GET", path("instances", instance_id, "stages", stage, "history"), kind=list)
    emit(output, calls, lambda: _calls_table(calls))


def _calls_table(calls: list[Any]) -> RenderableType:
    grid = table("CALL", "STATE", "ATTEMPT", "STARTED (UTC)", "ENDED (UTC)", "ERROR", "NEXT ATTEMPT (UTC)")
    for call in calls:
        grid.add_row(
            cell(call.get("name")),
            state(_ended_state(call)),
            cell(call.get("attempt")),
            when(call.get("startedAt")),
            when(call.get("terminatedAt")),
            cell(call.get("error") or call.get("lastFailure")),
            when(call.get("nextExecution")),
        )
    return or_none(grid, "No calls: this stage made none (delay, wait_event and noop stages make none).")


@instances.command("send-event")
@click.argument("instance_id", metavar="ID")
@click.argument("name")
@output_option
@with_api
def send_event(api: Api, instance_id: str, name: str, output: Format) -> None:
    """Send an event to an instance.

    A `wait_event` stage waiting for an event called NAME goes on.
    """
    api.call("POST", path("instances", instance_id, "events"), json={"name": name})
    done(output, f"Event {name!r} sent to instance {instance_id}.")


@instances.command()
@click.argument("instance_id", metavar="ID")
@output_option
@with_api
def abort(api: Api, instance_id: str, output: Format) -> None:
    """Abort a running instance.

    Its running stage ends with the error `canceled`, and so does the instance.
    """
    api.call("PUT", path("instances", instance_id, "abort"))
    done(output, f"Instance {instance_id} aborted.")
