"""Stopping background tasks for sure."""

from __future__ import annotations

import asyncio
from typing import Any

RECANCEL_EVERY = 0.1
"""Seconds between two cancellations of a task that did not stop."""


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and return once every one of them has ended.

    One cancellation is not always enough: on Python 3.11, `asyncio.wait_for` loses a
    cancellation that arrives just as the operation it waits for ends (CPython gh-86296),
    and nats-py waits that way when it connects and when it fetches. A task that carries
    on after such a loss is cancelled again.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_EVERY)
