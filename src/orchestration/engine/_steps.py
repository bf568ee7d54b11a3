"""The instance workflow's durable steps: its only contact with the world (STYLE R3).

Each step is one database transaction, written so that running it again after a
crash (steps are at-least-once) changes nothing more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from dbos import DBOS
from sqlalchemy.exc import SQLAlchemyError

from orchestration import storage

from . import _runtime

P = ParamSpec("P")
R = TypeVar("R")


def _now() -> datetime:
    return datetime.now(UTC)


def durable_step(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """A step that rides out database trouble (a lost connection, a pool exhausted by
    thousands of instances resumed at once) instead of failing its instance: retried
    with a growing pause, for hours in all. Other exceptions are bugs and propagate."""
    return DBOS.step(
        name=name,
        retries_allowed=True,
        max_attempts=25,
        interval_seconds=0.5,
        backoff_rate=1.5,
        should_retry=lambda exc: isinstance(exc, (SQLAlchemyError, OSError, TimeoutError)),
    )


@durable_step("orchestration.advance")
async def advance(
    instance_id: str,
    *,
    finish: tuple[int, str | None] | None,
    start: tuple[int, str, dict[str, Any], str | None] | None,
    start_ended: bool = False,
    terminate: bool,
    error: str | None,
) -> str | None:
    """Move an instance forward in one transaction.

    Ends stage `finish = (n, error)`, starts stage `start = (n, name, input,
    config_error)` (already ended with `start_ended`) and/or terminates the instance
    with `error`. Returns the new stage's start time (ISO), or None when the instance
    was aborted meanwhile: the workflow must then stop.
    """
    now = _now()
    async with _runtime.current().db.begin() as conn:
        instance = await storage.lock_instance(conn, instance_id)
        if instance is None or instance.terminated:
            return None
        if finish is not None:
            await storage.finish_stage(conn, instance_id, finish[0], now=now, error=finish[1])
        started = now
        if start is not None:
            number, name, input_, config_error = start
            started = await storage.start_stage(
                conn, instance_id, number, now=now, name=name, input=input_, error=config_error, ended=start_ended
            )
        if terminate:
            await storage.terminate_instance(conn, instance_id, now=now, error=error)
        return started.isoformat()


@durable_step("orchestration.sleep_until")
async def sleep_until(instance_id: str, deadline_iso: str) -> bool:
    """Wait until the deadline; False if the instance was aborted first."""
    runtime = _runtime.current()
    deadline = datetime.fromisoformat(deadline_iso)
    with runtime.signals.subscribe(instance_id) as wake:
        while True:
            wake.clear()
            async with runtime.db.read() as conn:
                instance = await storage.get_instance(conn, instance_id)
            if instance is None or instance.terminated:
                return False
            remaining = (deadline - _now()).total_seconds()
            if remaining <= 0:
                return True
            try:
                await asyncio.wait_for(wake.wait(), timeout=remaining)
            except TimeoutError:
                pass


@durable_step("orchestration.wait_event")
async def wait_event(instance_id: str, stage: int, name: str) -> bool:
    """Wait for an event called `name` and consume it; False if the instance was aborted first."""
    runtime = _runtime.current()
    with runtime.signals.subscribe(instance_id) as wake:
        while True:
            wake.clear()
            async with runtime.db.read() as conn:
                instance = await storage.get_instance(conn, instance_id)
                ready = instance is not None and await storage.event_ready(conn, instance_id, stage, name)
            if instance is None or instance.terminated:
                return False
            if ready:
                async with runtime.db.begin() as conn:
                    instance = await storage.lock_instance(conn, instance_id)
                    if instance is None or instance.terminated:
                        return False
                    if await storage.consume_event(conn, instance_id, stage, name):
                        return True
                continue
            await wake.wait()
