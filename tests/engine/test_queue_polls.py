"""DBOS's queues are polled at the engine's pace: at once when hurried and again a floor later,
never twice within the floor, at the interval otherwise, and not at all once DBOS stops; a worker
with a limit takes what a takeover queued beyond it as its slots free."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS

from orchestration.engine._queue_polls import QUEUE_POLL_FLOOR, QueuePace
from orchestration.service import WorkflowService
from tests.testing.engine import EngineHarness
from tests.testing.waiting import assert_eventually

HOUR = timedelta(hours=1)
FLOOR = timedelta(milliseconds=200)


class _Worker:
    """DBOS's worker loop, as it uses its stop event: wait, then poll, until the wait says stop."""

    def __init__(self, pace: QueuePace, on_poll: Callable[[int], None] = lambda _: None) -> None:
        self.pace = pace
        self.polls: list[float] = []  # when each was due to start, by the pace
        self._on_poll = on_poll
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.pace.is_set():
            if self.pace.wait(timeout=1.0):  # DBOS's own pace, which is not ours
                return
            self.polls.append(self.pace._last_poll)
            self._on_poll(len(self.polls))

    def start(self) -> _Worker:
        self._thread.start()
        return self

    def stopped(self) -> bool:
        return not self._thread.is_alive()

    def nothing_due_before_the_interval(self) -> bool:
        return self.pace.due() - time.monotonic() > HOUR.total_seconds() / 2


@pytest.fixture
def workers() -> Iterator[list[_Worker]]:
    started: list[_Worker] = []
    yield started
    for worker in started:
        worker.pace.stop()


def _start(workers: list[_Worker], pace: QueuePace, on_poll: Callable[[int], None] = lambda _: None) -> _Worker:
    worker = _Worker(pace, on_poll).start()
    workers.append(worker)
    return worker


def _polls(worker: _Worker, count: int, what: str) -> Awaitable[int]:
    return assert_eventually(lambda: len(worker.polls), lambda n: n == count, what=what)


async def test_a_hurry_polls_at_once_and_again_a_floor_later(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(HOUR, floor=FLOOR))
    await _polls(worker, 1, "a first poll at launch")
    await assert_eventually(worker.nothing_due_before_the_interval, bool, what="nothing more due")
    worker.pace.hurry()
    await _polls(worker, 3, "a poll once hurried, and its follow-up")
    first, hurried, follow_up = worker.polls
    assert hurried - first >= FLOOR.total_seconds() and follow_up - hurried >= FLOOR.total_seconds()
    assert worker.nothing_due_before_the_interval()


async def test_hurries_within_the_floor_make_one_poll_and_its_follow_up(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(HOUR, floor=FLOOR))
    await _polls(worker, 1, "a first poll")
    for _ in range(5):
        worker.pace.hurry()
    await _polls(worker, 3, "a poll for the hurries, and its follow-up")
    assert worker.nothing_due_before_the_interval()


async def test_a_hurry_during_a_poll_makes_the_next_one(workers: list[_Worker]) -> None:
    pace = QueuePace(HOUR, floor=FLOOR)
    worker = _start(workers, pace, on_poll=lambda count: pace.hurry() if count == 3 else None)
    await _polls(worker, 1, "a first poll")
    pace.hurry()
    # The hurried poll and its follow-up; the follow-up is hurried as it runs: two more.
    await _polls(worker, 5, "the polls of a hurry made during a poll")
    assert worker.nothing_due_before_the_interval()


async def test_it_polls_at_the_interval(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(timedelta(milliseconds=300), floor=timedelta(milliseconds=100)))
    await assert_eventually(lambda: len(worker.polls), lambda n: n >= 3, what="polls at the interval")
    gaps = [later - earlier for earlier, later in zip(worker.polls, worker.polls[1:], strict=False)]
    assert min(gaps) >= 0.3


async def test_a_shorter_interval_applies_at_once(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(HOUR, floor=timedelta(milliseconds=100)))
    await _polls(worker, 1, "a first poll")
    worker.pace.poll_every(timedelta(milliseconds=150))  # the wait under way was for an hour
    await assert_eventually(lambda: len(worker.polls), lambda n: n >= 3, what="polls at the new interval")


async def test_a_stop_ends_a_wait_at_once(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(HOUR, floor=FLOOR))
    await _polls(worker, 1, "a first poll")
    worker.pace.stop()
    await assert_eventually(worker.stopped, bool, what="the worker stopped", timeout=5)
    assert len(worker.polls) == 1


QUIET: dict[str, Any] = {
    # No poll of the queues on its own within a test while notices are heard; waits are held in memory.
    "look_ahead_interval": timedelta(minutes=30),
    "timer_horizon": HOUR,
    "park_after": HOUR,
}
WAIT_FOR_GO = [{"delay": {"duration": "1ms"}}, {"wait_event": {"event": "go"}}]


async def test_what_a_takeover_queued_beyond_the_limit_is_taken_as_slots_free(shared_uri: str, tmp_path: Path) -> None:
    async with EngineHarness.running(tmp_path / "first", postgres_uri=shared_uri, **QUIET) as first:
        workflow_id = (await WorkflowService(first.db).create({"name": "", "stages": WAIT_FOR_GO})).id
        ids = [(await first.instances.run(workflow_id, {}, wait=False)).instance.id for _ in range(2)]
        for instance_id in ids:  # each held by its workflow, waiting for its event
            await assert_eventually(
                lambda instance_id=instance_id: first.instance(instance_id),
                lambda view: len(view.stages) == 2,
                what=f"{instance_id} waiting",
            )
    # Stopped with its workflows pending: the next worker takes them over, one at a time.
    async with EngineHarness.running(
        tmp_path / "survivor", postgres_uri=shared_uri, max_parallel_instances=1, **QUIET
    ) as survivor:
        statuses = await assert_eventually(
            lambda: _statuses(ids), lambda found: sorted(found.values()) == ["ENQUEUED", "PENDING"],
            what="one taken over, one left in the queue",
        )
        [running] = [instance_id for instance_id, status in statuses.items() if status == "PENDING"]
        [queued] = [instance_id for instance_id, status in statuses.items() if status == "ENQUEUED"]
        # Past the floor of the poll that took it: the next poll is the freed slot's own.
        await asyncio.sleep(QUEUE_POLL_FLOOR.total_seconds() + 0.5)
        await survivor.instances.send_event(running, "go")
        assert (await survivor.wait_terminated(running, timeout=30)).instance.error is None
        await survivor.instances.send_event(queued, "go")
        assert (await survivor.wait_terminated(queued, timeout=30)).instance.error is None


async def _statuses(workflow_ids: list[str]) -> dict[str, str]:
    found = await DBOS.list_workflows_async(workflow_ids=workflow_ids, load_input=False, load_output=False)
    return {status.workflow_id: status.status for status in found}
