"""`orchestration triggers …`: events that start workflows — create, list, show, delete, test, occurrences."""

from __future__ import annotations

from typing import IO, Any

import click
from rich.console import Group, RenderableType
from rich.text import Text

from orchestration.client._documents import read_document
from orchestration.client._http import Api, path
from orchestration.client._lists import paging_options, read_list, show_list
from orchestration.client._options import name_value_pairs, with_api
from orchestration.client._output import (
    Format,
    cell,
    details,
    done,
    emit,
    or_none,
    outcome,
    output_option,
    state,
    table,
    when,
)


@click.group()
def triggers() -> None:
    """Triggers: Formance events that start workflows."""


@triggers.command()
@click.argument("event")
@click.argument("workflow_id", metavar="WORKFLOW_ID")
@click.option("--name", help="A name, to find the trigger by (`triggers list --name`).")
@click.option(
    "--filter", "filter_", metavar="EXPRESSION", help='Fire only when true, e.g. event.status == "SUCCEEDED".'
)
@click.option(
    "--var", "variables", multiple=True, callback=name_value_pairs, metavar="NAME=EXPRESSION",
    help="A run variable computed from the event, e.g. amount=event.amount (repeat for several).",
)  # fmt: skip
@click.option("--version", help="Fire only for events of this version (e.g. v2).")
@output_option
@with_api
def create(
    api: Api,
    event: str,
    workflow_id: str,
    name: str | None,
    filter_: str | None,
    variables: dict[str, str],
    version: str | None,
    output: Format,
) -> None:
    """Create a trigger: each EVENT starts WORKFLOW_ID.

    EVENT is a Formance event type, like SAVED_PAYMENT or COMMITTED_TRANSACTIONS.
    """
    body: dict[str, Any] = {"event": event, "workflowID": workflow_id}
    for key, value in (("name", name), ("filter", filter_), ("version", version)):
        if value is not None:
            body[key] = value
    if variables:
        body["vars"] = variables
    trigger = api.data("POST", "/triggers", json=body)
    emit(output, trigger, lambda: f"Trigger {trigger['id']} created.")


@triggers.command("list")
@click.option("--name", help="Only triggers whose name holds this text.")
@paging_options
@output_option
@with_api
def list_(api: Api, name: str | None, page_size: int | None, cursor: str | None, every: bool, output: Format) -> None:
    """List the triggers."""
    filters = {"name": name} if name else {}
    page = read_list(api, "/triggers", filters=filters, page_size=page_size, cursor=cursor, every=every)
    show_list(output, page, _triggers_table)


def _triggers_table(items: list[Any]) -> RenderableType:
    grid = table("ID", "NAME", "EVENT", "WORKFLOW", "FILTER", "CREATED (UTC)")
    for trigger in items:
        grid.add_row(
            cell(trigger.get("id")),
            cell(trigger.get("name")),
            cell(trigger.get("event")),
            cell(trigger.get("workflowID")),
            cell(trigger.get("filter")),
            when(trigger.get("createdAt")),
        )
    return or_none(grid, "No triggers.")


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@output_option
@with_api
def show(api: Api, trigger_id: str, output: Format) -> None:
    """Show a trigger."""
    trigger = api.data("GET", path("triggers", trigger_id))
    emit(output, trigger, lambda: _trigger_view(trigger))


def _trigger_view(trigger: dict[str, Any]) -> RenderableType:
    rows = [
        ("ID", cell(trigger.get("id"))),
        ("Name", cell(trigger.get("name"))),
        ("Event", cell(trigger.get("event"))),
        ("Version", cell(trigger.get("version") if "version" in trigger else "any")),
        ("Workflow", cell(trigger.get("workflowID"))),
        ("Filter", cell(trigger.get("filter") if "filter" in trigger else "none: every event fires")),
        ("Created", when(trigger.get("createdAt"))),
    ]
    variables = trigger.get("vars") or {}
    rows += [(f"${{{name}}}", cell(expression)) for name, expression in variables.items()]
    return details(rows)


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@output_option
@with_api
def delete(api: Api, trigger_id: str, output: Format) -> None:
    """Delete a trigger (its occurrences stay listed)."""
    api.call("DELETE", path("triggers", trigger_id))
    done(output, f"Trigger {trigger_id} deleted.")


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@click.argument("payload", type=click.File("rb"))
@output_option
@with_api
def test(api: Api, trigger_id: str, payload: IO[bytes], output: Format) -> None:
    """Try a trigger on a sample event payload.

    Evaluates its filter and variables on PAYLOAD (a JSON or YAML file, `-`: standard input),
    without starting anything.
    """
    event = read_document(payload)
    result = api.data("POST", path("triggers", trigger_id, "test"), json=event)
    emit(output, result, lambda: _test_view(result))


def _test_view(result: dict[str, Any]) -> RenderableType:
    found = result.get("filter")
    if found is None:
        verdict = Text("no filter: the trigger fires")
    elif found.get("match"):
        verdict = Text("matches: the trigger fires", style="green")
    else:
        error = found.get("error")
        verdict = Text("no match: the trigger does not fire" + (f" ({error})" if error else ""), style="red")
    variables = table("VARIABLE", "VALUE", "ERROR")
    for name, evaluated in (result.get("variables") or {}).items():
        variables.add_row(cell(name), cell(evaluated.get("value")), cell(evaluated.get("error")))
    return Group(details([("Filter", verdict)]), variables)


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@paging_options
@output_option
@with_api
def occurrences(
    api: Api, trigger_id: str, page_size: int | None, cursor: str | None, every: bool, output: Format
) -> None:
    """The times a trigger fired.

    Each with the instance it started, or why none was.
    """
    url = path("triggers", trigger_id, "occurrences")
    page = read_list(api, url, filters={}, page_size=page_size, cursor=cursor, every=every)
    show_list(output, page, _occurrences_table)


def _occurrences_table(items: list[Any]) -> RenderableType:
    grid = table("ID", "DATE (UTC)", "EVENT", "INSTANCE", "STATE", "ERROR")
    for occurrence in items:
        event = occurrence.get("event")
        grid.add_row(
            cell(occurrence.get("id")),
            when(occurrence.get("date")),
            cell(event.get("type") if isinstance(event, dict) else None),
            cell(occurrence.get("workflowInstanceID")),
            state(outcome(occurrence.get("error"))),
            cell(occurrence.get("error")),
        )
    return or_none(grid, "No occurrences: the trigger has not fired.")
