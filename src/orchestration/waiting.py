"""Waiting for an `asyncio.Event` at most so long, cancellable at any moment.

`asyncio.wait_for` on Python 3.11 waits in a task of its own, and a cancellation that comes
as that task ends can be lost (python/cpython#86296, fixed in 3.12): a task cancelled then,
the engine's waker at shutdown for one, goes on and waits out its whole timeout.
`asyncio.timeout` waits in the caller's task.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_at_most(event: asyncio.Event, seconds: float) -> bool:
    """Whether `event` was set within `seconds`."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
        return True
    return False


def stop_if_cancelled() -> None:
    """Raise `CancelledError` if the current task was asked to stop. For the broad `except` of a
    background loop: a driver may turn the cancellation into another exception (psycopg's pipeline
    turns it into an AssertionError), and a loop that swallowed it would go on, its `close()`
    waiting for it for ever."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
