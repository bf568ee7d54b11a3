"""The bench's side of the event bus: Formance events published to JetStream, and the
backlog of the durable consumer through which the server under test reads them.

The NATS server itself is the tests' `NatsServer` (`tests.testing.nats`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from orchestration.bus._topics import durable_name, stream_name

from ._harness import bounded, say

QUEUE_GROUP = "bench"
"""Passed to the server as `--publisher-queue-group`: its durables are named after it."""


def server_bus_args(nats_url: str, subject: str) -> list[str]:
    """The server flags that make it consume `subject` (and publish its own events) on NATS."""
    return [
        "--publisher-nats-enabled",
        "--publisher-nats-url", nats_url,
        "--publisher-queue-group", QUEUE_GROUP,
        "--topics", subject,
    ]  # fmt: skip


def envelope(event_type: str, payload: dict[str, Any], *, key: str) -> bytes:
    """A Formance event as the stack's services publish it."""
    return json.dumps(
        {
            "idempotency_key": key,
            "date": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "app": "bench",
            "version": "v2",
            "type": event_type,
            "payload": payload,
        }
    ).encode()


async def connect(url: str) -> tuple[Client, JetStreamContext]:
    client = await nats.connect(url, name="orchestration-bench")
    return client, client.jetstream()


async def publish_all(js: JetStreamContext, subject: str, messages: Sequence[bytes], *, in_flight: int) -> list[float]:
    """Publish every message, `in_flight` unacknowledged at most; the wall-clock time
    (`time.time()`, the clock the server's timestamps use) at which each was sent."""
    sent_at = [0.0] * len(messages)

    async def one(index: int) -> None:
        sent_at[index] = time.time()
        await js.publish(subject, messages[index])

    await bounded(range(len(messages)), in_flight, one)
    return sent_at


async def publish_paced(js: JetStreamContext, subject: str, messages: Sequence[bytes], *, every: float) -> list[float]:
    """Publish one message every `every` seconds, each acknowledged before the next."""
    sent_at: list[float] = []
    for message in messages:
        sent_at.append(time.time())
        await js.publish(subject, message)
        await asyncio.sleep(every)
    return sent_at


async def backlog(js: JetStreamContext, subject: str) -> int:
    """Messages the server's durable has not acknowledged yet: not delivered, or delivered and
    still being handled."""
    info = await js.consumer_info(stream_name(subject), durable_name(QUEUE_GROUP, subject))
    return (info.num_pending or 0) + (info.num_ack_pending or 0)


async def wait_for_durable(js: JetStreamContext, subject: str, *, timeout: float) -> None:
    """The server creates its stream and durable in the background once started: wait for them,
    since events published before the durable exists would never reach it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await backlog(js, subject)
            return
        except NotFoundError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no durable consumer on {subject} after {timeout:.0f} s") from None
            await asyncio.sleep(0.05)


async def wait_drained(js: JetStreamContext, subject: str, *, every: float, timeout: float) -> float | None:
    """Poll the durable until it has acknowledged everything; the perf_counter time of the
    poll that saw it, None (and a line) at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if await backlog(js, subject) == 0:
            return time.perf_counter()
        if time.monotonic() >= deadline:
            say(f"  !! gave up waiting for the consumer of {subject} to drain after {timeout:.0f} s")
            return None
        await asyncio.sleep(every)
