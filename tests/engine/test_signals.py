"""In-process wake-ups of waiting instances."""

from __future__ import annotations

import asyncio

from orchestration.engine._signals import Signals


async def test_notify_wakes_only_the_subscribed_instance() -> None:
    signals = Signals()
    with signals.subscribe("a") as a, signals.subscribe("b") as b:
        assert signals.waiting == 2
        signals.notify("a")
        await asyncio.wait_for(a.wait(), timeout=1)
        assert not b.is_set()
    assert signals.waiting == 0


async def test_notify_without_a_waiter_is_harmless() -> None:
    Signals().notify("nobody")
