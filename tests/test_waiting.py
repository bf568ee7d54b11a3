"""`wait_at_most`: set, timed out, and cancelled even when the event comes at the same moment."""

from __future__ import annotations

import asyncio

import pytest

from orchestration.waiting import wait_at_most


async def test_true_once_the_event_is_set() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_at_most(event, 60))
    await asyncio.sleep(0)
    event.set()
    assert await asyncio.wait_for(waiting, 5) is True


async def test_false_when_the_time_is_up() -> None:
    assert await wait_at_most(asyncio.Event(), 0.01) is False


async def test_a_cancellation_that_comes_with_the_event_is_not_lost() -> None:
    # `asyncio.wait_for` on Python 3.11 returns True here and the task goes on as if never cancelled.
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_at_most(event, 60))
    await asyncio.sleep(0)
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
