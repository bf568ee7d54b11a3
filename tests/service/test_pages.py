"""Cursor pagination (spec §2.4): page sizes, cursors that carry filters, bad input."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestration.errors import ValidationFailed
from orchestration.service import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageQuery, page_query, parse_page_size
from orchestration.service._pages import make_page


@pytest.mark.parametrize(("raw", "size"), [(None, 15), ("", 15), ("0", 15), ("1", 1), ("100", 100), ("101", 100)])
def test_page_size_defaults_and_cap(raw: str | None, size: int) -> None:
    assert parse_page_size(raw) == size


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5", " 3", "4294967296", "１２"])
def test_page_size_must_be_an_unsigned_32_bit_integer(raw: str) -> None:
    with pytest.raises(ValidationFailed, match="invalid 'pageSize' query param"):
        parse_page_size(raw)


def test_next_cursor_carries_offset_size_and_filters() -> None:
    query = page_query(page_size="2", cursor=None, filters={"WorkflowID": "w", "Running": True})
    page = make_page(["a", "b", "c"], query)
    assert page.items == ["a", "b"] and page.has_more and page.previous is None
    assert page.next is not None
    # The cursor wins over the request's own filters, which only say their types.
    following = page_query(page_size="99", cursor=page.next, filters={"WorkflowID": "", "Running": False})
    assert following == PageQuery(offset=2, page_size=2, filters={"WorkflowID": "w", "Running": True})
    last = make_page(["c"], following)
    assert not last.has_more and last.next is None
    assert last.previous is not None
    assert page_query(page_size=None, cursor=last.previous, filters={"WorkflowID": "", "Running": False}).offset == 0


def test_a_cursor_whose_filters_are_not_the_routes_is_refused() -> None:
    filters = {"WorkflowID": "", "Running": False}
    page = make_page(["a", "b"], page_query(page_size="1", cursor=None, filters={"WorkflowID": "w", "Running": True}))
    assert page.next is not None
    with pytest.raises(ValidationFailed, match="cursor"):
        page_query(page_size=None, cursor=page.next, filters={})  # an instances cursor on workflows
    forged = make_page(["a", "b"], page_query(page_size="1", cursor=None, filters={"WorkflowID": True}))
    assert forged.next is not None
    with pytest.raises(ValidationFailed, match="cursor"):
        page_query(page_size=None, cursor=forged.next, filters=filters)


def test_cursor_is_base64url_without_padding_of_the_original_json() -> None:
    page = make_page(list(range(16)), page_query(page_size=None, cursor=None, filters={}))
    assert page.next is not None and "=" not in page.next
    body = json.loads(base64.urlsafe_b64decode(page.next + "=" * (-len(page.next) % 4)))
    assert body == {"offset": DEFAULT_PAGE_SIZE, "order": 0, "pageSize": DEFAULT_PAGE_SIZE, "filters": {}}


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        "eyJ4IjoxfQ",  # {"x":1}
        base64.urlsafe_b64encode(b'{"offset":-1,"pageSize":2}').decode(),
        base64.urlsafe_b64encode(b'{"offset":0,"pageSize":1000}').decode(),
        base64.urlsafe_b64encode(b'{"offset":"0","pageSize":2}').decode(),
        base64.urlsafe_b64encode(b"[]").decode(),
    ],
)
def test_bad_cursors_are_rejected(token: str) -> None:
    with pytest.raises(ValidationFailed, match="invalid 'cursor' query param"):
        page_query(page_size=None, cursor=token, filters={})


@given(st.text(max_size=40))
def test_any_cursor_text_is_accepted_or_rejected_as_validation(token: str) -> None:
    try:
        query = page_query(page_size=None, cursor=token, filters={})
    except ValidationFailed:
        return
    assert query.offset >= 0 and 0 < query.page_size <= MAX_PAGE_SIZE
