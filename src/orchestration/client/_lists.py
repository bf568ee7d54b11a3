"""Lists of the v2 API, a page at a time or every page (`--page-size`, `--cursor`, `--all`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click
from rich.console import RenderableType

from orchestration.client._http import Api, Page
from orchestration.client._output import Format, emit, note

F = TypeVar("F", bound=Callable[..., Any])


def paging_options(func: F) -> F:
    """`--page-size`, `--cursor` and `--all`, passed as `page_size`, `cursor` and `every`."""
    func = click.option("--all", "every", is_flag=True, help="Every page, one after the other.")(func)
    func = click.option("--cursor", help="Start from this page (the `next` cursor a previous page gave).")(func)
    return click.option(
        "--page-size",
        type=click.IntRange(1, 1000),
        help="Items per page (the server's default is 15, and it may serve fewer than asked).",
    )(func)


def read_list(
    api: Api, url: str, *, filters: Mapping[str, str], page_size: int | None, cursor: str | None, every: bool
) -> Page:
    """One page of a list (from `cursor` when given), or with `every` all its items as one page."""
    if every and cursor:
        raise click.UsageError("--all reads from the first page: give it without --cursor")
    if every:
        return Page(api.every(url, filters=filters, page_size=page_size), None)
    return api.page(url, filters=filters, page_size=page_size, cursor=cursor)


def show_list(output: Format, page: Page, render: Callable[[list[Any]], RenderableType]) -> None:
    """Print a page's items (as the API's `data` list for json and yaml), and how to get the next page."""
    emit(output, page.items, lambda: render(page.items))
    if page.next is not None:
        note(f"More on the next page: --cursor {page.next} (or --all for every page).")
