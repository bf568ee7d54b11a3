"""One message through the handler: kept alive while it runs, then acknowledged or handed back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg

from orchestration.observability import metrics

from ._errors import Redeliver
from ._tuning import ConsumerTuning

logger = logging.getLogger(__name__)

Handler = Callable[[str, bytes], Awaitable[None]]
"""Handles one message: `(subject, data)`. Returning acknowledges it; raising hands it back."""


def describe(msg: Msg) -> str:
    """Which message this is, for the log (never its content, which may hold personal data)."""
    meta = msg.metadata
    return f"message {meta.sequence.stream} of stream {meta.stream} on {msg.subject} (delivery {meta.num_delivered})"


def error_delay(tuning: ConsumerTuning, deliveries: int) -> float:
    """Seconds before a message whose handler failed comes again: doubling, so a poison message does not spin."""
    doubled = tuning.redeliver_delay.total_seconds() * 2.0 ** min(max(deliveries - 1, 0), 16)
    return min(doubled, tuning.max_error_delay.total_seconds())


async def deliver(
    msg: Msg, handler: Handler, *, tuning: ConsumerTuning, ack_wait: float, closed: Callable[[], bool]
) -> None:
    """Await `handler` on `msg`; acknowledge it only once the handler returned, unless `closed()`."""
    metrics.BUS_CONSUMED.labels(msg.subject).inc()
    if msg.metadata.num_delivered > 1:
        metrics.BUS_REDELIVERED.labels(msg.subject).inc()
    keeper = asyncio.create_task(_keep_alive(msg, every=ack_wait / 3))
    try:
        try:
            await handler(msg.subject, msg.data)
        finally:
            keeper.cancel()
    except Redeliver:
        logger.debug("%s: the handler asked for it again", describe(msg))
        await _settle(msg, msg.nak(tuning.redeliver_delay.total_seconds()))
    except asyncio.CancelledError:
        # close() stopped waiting for this handler: hand the message back now, for another consumer.
        await _settle(msg, msg.nak())
        raise
    except Exception:
        delay = error_delay(tuning, msg.metadata.num_delivered)
        logger.exception("%s: the handler failed; it comes again in %ss", describe(msg), delay)
        await _settle(msg, msg.nak(delay))
    else:
        if closed():  # a handler that swallowed its cancellation: its work may be incomplete
            await _settle(msg, msg.nak())
        elif await _settle(msg, msg.ack()):
            metrics.BUS_ACKED.labels(msg.subject).inc()


async def _keep_alive(msg: Msg, *, every: float) -> None:
    """Tell JetStream the message is still being handled, so that it is not delivered again meanwhile."""
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(nats.errors.Error):
            await msg.in_progress()


async def _settle(msg: Msg, answer: Awaitable[None]) -> bool:
    """Send JetStream the answer; False when it could not be sent."""
    try:
        await answer
    except nats.errors.Error as exc:
        logger.warning("%s: could not answer JetStream (%s: %s); it will be delivered again",
                       describe(msg), type(exc).__name__, exc)
        return False
    return True
