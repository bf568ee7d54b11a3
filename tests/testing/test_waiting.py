"""`assert_eventually` and `eventually`: poll until a predicate holds, within a bound."""

from __future__ import annotations

import itertools

import pytest

from .waiting import assert_eventually, eventually


async def test_assert_eventually_returns_the_first_value_that_satisfies_the_predicate() -> None:
    counter = itertools.count()

    async def fetch() -> int:
        return next(counter)

    assert await assert_eventually(fetch, lambda n: n >= 3, interval=0) == 3


async def test_assert_eventually_fails_with_what_it_waited_for_and_the_last_value() -> None:
    async def fetch() -> str:
        return "still running"

    with pytest.raises(AssertionError, match=r"the instance to end; last value: 'still running'"):
        await assert_eventually(fetch, lambda s: s == "done", timeout=0.05, what="the instance to end")


async def test_assert_eventually_looks_at_least_once_even_without_time() -> None:
    async def fetch() -> bool:
        return True

    assert await assert_eventually(fetch, timeout=0) is True


def test_eventually_returns_the_first_value_that_satisfies_the_predicate() -> None:
    counter = itertools.count()
    assert eventually(lambda: next(counter), lambda n: n == 2, interval=0) == 2


def test_eventually_fails_with_what_it_waited_for_and_the_last_value() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0.05s waiting for a server; last value: 0"):
        eventually(lambda: 0, timeout=0.05, what="a server")


async def test_assert_eventually_also_polls_a_plain_function() -> None:
    seen: list[int] = []

    def fetch() -> list[int]:
        seen.append(len(seen))
        return seen

    assert await assert_eventually(fetch, lambda values: len(values) == 2, interval=0) == [0, 1]
