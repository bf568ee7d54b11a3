"""What commands print: rich tables for people, or the API's `data` as JSON or YAML for scripts.

Values from the server go into tables as `Text`, never as markup: an error message holding
`[brackets]` is shown as written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import click
import yaml
from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

F = TypeVar("F", bound=Callable[..., Any])

# Piped, a table is never wrapped: one line per row, for grep and awk.
_PIPED_WIDTH = 10_000


class Format(StrEnum):
    """`--output`: how a command prints what it got."""

    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


def output_option(func: F) -> F:
    """`--output/-o table|json|yaml`, passed as `output`."""
    return click.option(
        "--output",
        "-o",
        type=click.Choice(Format, case_sensitive=False),
        default=Format.TABLE.value,
        show_default=True,
        help="table for people; json (exactly the API's data) or yaml for scripts and definitions.",
    )(func)


STATE_STYLES = {
    "running": "yellow",
    "retrying": "bold yellow",
    "succeeded": "green",
    "failed": "red",
    "canceled": "magenta",
    "pending": "dim",
    "not run": "dim",
}


def console() -> Console:
    """A console on standard output, sized to the terminal, or wide when piped."""
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else _PIPED_WIDTH)


def emit(output: Format, data: Any, render: Callable[[], RenderableType]) -> None:
    """Print `data` (the API's) as JSON or YAML, or else what `render()` makes of it (a `Group` for several)."""
    if output is Format.TABLE:
        console().print(render())
    else:
        print_data(output, data)


def print_data(output: Format, data: Any) -> None:
    """Print `data` as YAML, or with `Format.JSON` as JSON."""
    if output is Format.JSON:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def table(*columns: str) -> Table:
    """A table in the house style, with these column headers."""
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    return grid


def or_none(grid: Table, empty: str) -> RenderableType:
    """The table, or `empty` when it has no rows."""
    return grid if grid.row_count else Text(empty)


def details(rows: Iterable[tuple[str, Text | str]]) -> Table:
    """Names and values, one per line (`Instance  3f1e…`)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for name, value in rows:
        grid.add_row(name, value if isinstance(value, Text) else Text(value))
    return grid


def cell(value: object) -> Text:
    """A value from the server as a table cell: text as is, anything else as compact JSON."""
    if value is None:
        return Text("")
    if isinstance(value, str):
        return Text(value)
    return Text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def state(name: str) -> Text:
    """A state (`running`, `failed`, …) in its colour."""
    return Text(name, style=STATE_STYLES.get(name, ""))


def outcome(error: object) -> str:
    """How something that ended did, by its error: `succeeded`, `canceled` (an abort, spec §9) or `failed`."""
    if not error:
        return "succeeded"
    return "canceled" if error == "canceled" else "failed"


def instance_state(instance: dict[str, Any]) -> str:
    """`running`, or how the instance ended."""
    return outcome(instance.get("error")) if instance.get("terminated") else "running"


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 timestamp from the server (µs or, from the original, ns), or None."""
    if not isinstance(text, str) or not text:
        return None
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most 6 digits of fraction
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)] or '0'}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def when(text: object) -> Text:
    """A timestamp as `2024-05-02 10:11:12` (UTC), or the text as given when it does not parse."""
    moment = parse_time(text)
    if moment is None:
        return cell(text)
    return Text(moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))


def elapsed(start: object, end: object, *, now: datetime | None = None) -> Text:
    """The time from `start` to `end` (to `now` while it runs, marked `…`)."""
    began, ended = parse_time(start), parse_time(end)
    if began is None:
        return Text("")
    running = ended is None
    span = ((now or datetime.now(UTC)) if ended is None else ended) - began
    return Text(span_text(span) + ("…" if running else ""))


def span_text(span: timedelta) -> str:
    """`250ms`, `1.2s`, `3m04s`, `2h05m`."""
    seconds = max(span.total_seconds(), 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{second:02d}s"
    hours, minute = divmod(minutes, 60)
    return f"{hours}h{minute:02d}m"


def done(output: Format, message: str) -> None:
    """Say what an action without an answer did (`204`): for people only, json and yaml print nothing."""
    if output is Format.TABLE:
        click.echo(message)


def note(message: str) -> None:
    """A line for people on standard error (hints, what happened), kept out of piped output."""
    click.echo(message, err=True)
