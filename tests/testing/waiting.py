"""Waiting for a state with a bound, instead of sleeping and hoping (STYLE R12).

`assert_eventually` for async tests and `eventually` for sync ones: each polls
`fetch()` until `predicate(value)` holds and returns that value, or fails with the
last value seen once `timeout` has passed. Modelled on the helper of the same name in
Temporal's Python SDK tests.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

# A bound for things that happen in milliseconds on an idle machine: generous, so that
# a loaded 2-core machine running the suite on every core still makes it.
DEFAULT_TIMEOUT = 15.0


def _timed_out(what: str, timeout: float, value: object) -> AssertionError:
    return AssertionError(f"timed out after {timeout}s waiting for {what or 'condition'}; last value: {value!r}")


@overload
async def assert_eventually(
    fetch: Callable[[], Awaitable[T]],
    predicate: Callable[[T], object] = ...,
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...


@overload
async def assert_eventually(
    fetch: Callable[[], T],
    predicate: Callable[[T], object] = ...,
    *,
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...


async def assert_eventually(
    fetch: Callable[[], Any],
    predicate: Callable[[Any], object] = bool,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.01,
    what: str = "",
) -> Any:
    """Call `fetch()` (awaiting what it returns if it is awaitable) until `predicate(value)`;
    the value, or AssertionError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        fetched = fetch()
        value = await fetched if inspect.isawaitable(fetched) else fetched
        if predicate(value):
            return value
        if loop.time() >= deadline:
            raise _timed_out(what, timeout, value)
        await asyncio.sleep(interval)


def eventually(
    fetch: Callable[[], T],
    predicate: Callable[[T], object] = bool,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.05,
    what: str = "",
) -> T:
    """Call `fetch()` until `predicate(value)`; the value, or AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value):
            return value
        if time.monotonic() >= deadline:
            raise _timed_out(what, timeout, value)
        time.sleep(interval)
