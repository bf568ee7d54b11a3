"""`orchestration workflows …`: create, validate, list, show, delete and run workflow definitions."""

from __future__ import annotations

from typing import IO, Any

import click
from rich.console import Group, RenderableType

from orchestration.client._documents import read_document, source_name
from orchestration.client._http import Api, path
from orchestration.client._lists import paging_options, read_list, show_list
from orchestration.client._options import POLL_INTERVAL, name_value_pairs, with_api
from orchestration.client._output import (
    Format,
    cell,
    details,
    done,
    emit,
    note,
    or_none,
    output_option,
    print_data,
    table,
    when,
)
from orchestration.client._timeline import Timeline, follow
from orchestration.client._validate import Problem, validate_definition

DEFINITION = click.File("rb")


@click.group()
def workflows() -> None:
    """Create, validate, list, show, delete and run workflows."""


def _problems_found(name: str, problems: list[Problem]) -> str:
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    return f"{name}: {count}"


@workflows.command()
@click.argument("file", type=DEFINITION)
@output_option
def validate(file: IO[bytes], output: Format) -> None:
    """Check a definition offline, naming every problem.

    FILE holds the definition, in YAML or JSON (`-`: standard input). The server accepts
    definitions whose stages can only fail when they run (a required field left out, a misspelt
    key it ignores): this finds them before. Exit code 1 when there is one.
    """
    name = source_name(file)
    problems = validate_definition(read_document(file))
    listed = [{"stage": p.stage, "type": p.type, "field": p.field, "message": p.message} for p in problems]
    emit(output, listed, lambda: "\n".join(f"{name}: {p}" for p in problems) or f"{name}: valid")
    if problems:
        raise click.ClickException(_problems_found(name, problems))


@workflows.command()
@click.argument("file", type=DEFINITION)
@click.option("--no-validate", is_flag=True, help="Send the definition as it is, without checking it first.")
@output_option
@with_api
def create(api: Api, file: IO[bytes], no_validate: bool, output: Format) -> None:
    """Create a workflow from a definition.

    FILE holds the definition, in YAML or JSON (`-`: standard input). It is checked first, as
    `workflows validate` does.
    """
    definition = read_document(file)
    if not no_validate:
        problems = validate_definition(definition)
        for problem in problems:
            note(f"{source_name(file)}: {problem}")
        if problems:
            raise click.ClickException(
                f"{_problems_found(source_name(file), problems)}: fix them, or send it as it is with --no-validate"
            )
    workflow = api.data("POST", "/workflows", json=definition)
    emit(output, workflow, lambda: f"Workflow {workflow['id']} created.")


@workflows.command("list")
@paging_options
@output_option
@with_api
def list_(api: Api, page_size: int | None, cursor: str | None, every: bool, output: Format) -> None:
    """List the workflows (not the deleted ones)."""
    page = read_list(api, "/workflows", filters={}, page_size=page_size, cursor=cursor, every=every)
    show_list(output, page, _workflows_table)


def _workflows_table(items: list[Any]) -> RenderableType:
    grid = table("ID", "NAME", "STAGES", "CREATED (UTC)")
    for workflow in items:
        config = workflow.get("config") or {}
        grid.add_row(
            cell(workflow.get("id")), cell(config.get("name")), _stage_types(config), when(workflow.get("createdAt"))
        )
    return or_none(grid, "No workflows.")


def _stage_types(config: dict[str, Any]) -> str:
    stages = config.get("stages") or []
    return " → ".join(next(iter(stage), "?") if isinstance(stage, dict) else "?" for stage in stages)


@workflows.command()
@click.argument("workflow_id", metavar="ID")
@click.option("--definition", is_flag=True, help="Only the definition (`config`): what `workflows create` takes.")
@output_option
@with_api
def show(api: Api, workflow_id: str, definition: bool, output: Format) -> None:
    """Show a workflow and its stages (deleted ones too)."""
    workflow = api.data("GET", path("workflows", workflow_id))
    if definition:
        print_data(output, workflow.get("config"))  # as a file: YAML unless JSON is asked for
        return
    emit(output, workflow, lambda: _workflow_view(workflow))


def _workflow_view(workflow: dict[str, Any]) -> RenderableType:
    config = workflow.get("config") or {}
    rows = [
        ("ID", cell(workflow.get("id"))),
        ("Name", cell(config.get("name"))),
        ("Created", when(workflow.get("createdAt"))),
    ]
    if workflow.get("deletedAt"):
        rows.append(("Deleted", when(workflow.get("deletedAt"))))
    stages = table("STAGE", "TYPE", "CONFIGURATION")
    for number, stage in enumerate(config.get("stages") or []):
        kind, body = next(iter(stage.items()), ("?", None)) if isinstance(stage, dict) else ("?", stage)
        stages.add_row(str(number), cell(kind), cell(body))
    return Group(details(rows), stages)


@workflows.command()
@click.argument("workflow_id", metavar="ID")
@output_option
@with_api
def delete(api: Api, workflow_id: str, output: Format) -> None:
    """Delete a workflow.

    Its instances keep running, and `workflows show` still finds it.
    """
    api.call("DELETE", path("workflows", workflow_id))
    done(output, f"Workflow {workflow_id} deleted.")


@workflows.command()
@click.argument("workflow_id", metavar="ID")
@click.option(
    "--variable", "variables", multiple=True, callback=name_value_pairs, metavar="NAME=VALUE",
    help="A run variable, for ${NAME} in the stages (repeat for several).",
)  # fmt: skip
@click.option("--wait", is_flag=True, help="Follow the instance until it ends; exit code 1 if it failed.")
@POLL_INTERVAL
@output_option
@with_api
def run(api: Api, workflow_id: str, variables: dict[str, str], wait: bool, interval: float, output: Format) -> None:
    """Start an instance of a workflow."""
    instance = api.data("POST", path("workflows", workflow_id, "instances"), json=variables)
    if not wait:
        emit(output, instance, lambda: f"Instance {instance['id']} started.")
        if output is Format.TABLE:
            note(f"Follow it with: orchestration instances show {instance['id']} --watch")
        return
    final = follow(Timeline(api, instance["id"]), interval=interval, show=output is Format.TABLE)
    if output is not Format.TABLE:
        print_data(output, final.instance)
    error = final.instance.get("error")
    if error:
        raise click.ClickException(f"instance {instance['id']} failed: {error}")
