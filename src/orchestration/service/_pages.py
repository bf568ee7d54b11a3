"""Offset pages with opaque cursors (spec §2.4)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from orchestration.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 15
MAX_PAGE_SIZE = 100
MAX_OFFSET = 2**63 - 1
"""Largest OFFSET both databases take (a 64-bit integer); a forged cursor may say more."""


@dataclass(frozen=True)
class PageQuery:
    """Where a page starts, how long it is, and the filters it carries along."""

    offset: int
    page_size: int
    filters: dict[str, Any]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page_size: int
    has_more: bool
    previous: str | None
    next: str | None


def page_query(*, page_size: str | None, cursor: str | None, filters: dict[str, Any]) -> PageQuery:
    """Read `pageSize`/`cursor` query values; a cursor overrides everything else (Q-8).

    `filters` are those of this request; a cursor's own must have the same keys with values
    of the same types (a forged `"WorkflowID": true` would reach the database as a boolean).
    """
    if cursor:
        return _decode_cursor(cursor, filters)
    return PageQuery(offset=0, page_size=parse_page_size(page_size), filters=filters)


def parse_page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    # An unsigned 32-bit integer, as the original parses it. Leading zeros go and the length is
    # tested first, so that no value reaches Python's 4,300-digit conversion limit.
    digits = raw.lstrip("0") or "0"
    if not (raw.isascii() and raw.isdigit()) or len(digits) > 10 or int(digits) >= 2**32:
        raise ValidationFailed("invalid 'pageSize' query param")
    size = int(digits)
    if size == 0:
        return DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE)


def make_page(rows: list[T], query: PageQuery) -> Page[T]:
    """`rows` were fetched with limit page_size + 1: the extra one tells there is more."""
    has_more = len(rows) > query.page_size
    previous = None
    if query.offset > 0:
        previous = _encode_cursor(
            PageQuery(max(0, query.offset - query.page_size), query.page_size, query.filters)
        )
    next_ = None
    if has_more:
        next_ = _encode_cursor(PageQuery(query.offset + query.page_size, query.page_size, query.filters))
    return Page(rows[: query.page_size], query.page_size, has_more, previous, next_)


def _encode_cursor(query: PageQuery) -> str:
    body = {"offset": query.offset, "order": 0, "pageSize": query.page_size, "filters": query.filters}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def _decode_cursor(token: str, expected: dict[str, Any]) -> PageQuery:
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, page_size, filters = body["offset"], body["pageSize"], body.get("filters") or {}
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise ValidationFailed("invalid 'cursor' query param") from exc
    if not (isinstance(offset, int) and isinstance(page_size, int) and isinstance(filters, dict)):
        raise ValidationFailed("invalid 'cursor' query param")
    if not 0 <= offset <= MAX_OFFSET or not 0 < page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed("invalid 'cursor' query param")
    if not all(_is_filter_value(key, value, expected) for key, value in filters.items()):
        raise ValidationFailed("invalid 'cursor' query param")
    return PageQuery(offset, page_size, filters)


def _is_filter_value(key: str, value: object, expected: dict[str, Any]) -> bool:
    """What the server itself puts in a cursor: one of this route's filters, with a value of
    that filter's type (text a query can carry, or a flag), or nothing."""
    if key not in expected or not (value is None or type(value) is type(expected[key])):
        return False
    if isinstance(value, str):
        try:
            value.encode("utf-8")  # a lone surrogate cannot be sent to the database
        except UnicodeEncodeError:
            return False
        return "\x00" not in value  # nor can NUL, on PostgreSQL
    return True
