"""DBOS's queues are polled at the engine's pace: at once when hurried, never twice within the
floor, at the interval otherwise, and not at all once DBOS stops; a worker with a limit takes
what a takeover queued beyond it as its slots free."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestration.engine._queue_polls import QueuePace
from orchestration.service import WorkflowService
from tests.testing.engine import EngineHarness
from tests.testing.waiting import assert_eventually

HOUR = timedelta(hours=1)
FLOOR = timedelta(milliseconds=200)


class _Worker:
    """DBOS's worker loop, as it uses its stop event: wait, then poll, until the wait says stop."""

    def __init__(self, pace: QueuePace) -> None:
        self.pace = pace
        self.polls: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.pace.is_set():
            if self.pace.wait(timeout=1.0):  # DBOS's own pace, which is not ours
                return
            self.polls.append(time.monotonic())

    def start(self) -> _Worker:
        self._thread.start()
        return self

    def stopped(self) -> bool:
        return not self._thread.is_alive()


@pytest.fixture
def workers() -> Iterator[list[_Worker]]:
    started: list[_Worker] = []
    yield started
    for worker in started:
        worker.pace.stop()


def _start(workers: list[_Worker], pace: QueuePace) -> _Worker:
    worker = _Worker(pace).start()
    workers.append(worker)
    return worker


async def test_the_first_poll_is_at_once_and_the_next_when_hurried(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(HOUR, floor=FLOOR))
    await assert_eventually(lambda: len(worker.polls), lambda n: n == 1, what="a first poll at launch")
    hurried_at = time.monotonic()
    worker.pace.hurry()
    await assert_eventually(lambda: len(worker.polls), lambda n: n == 2, what="a poll once hurried")
    # Not before the floor since the first poll: hurries within it wait for it.
    assert worker.polls[1] - worker.polls[0] >= FLOOR.total_seconds() and worker.polls[1] >= hurried_at


async def test_hurries_within_the_floor_make_one_poll(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(HOUR, floor=timedelta(seconds=1)))
    await assert_eventually(lambda: len(worker.polls), lambda n: n == 1, what="a first poll")
    for _ in range(5):
        worker.pace.hurry()
    await assert_eventually(lambda: len(worker.polls), lambda n: n == 2, what="a poll for the hurries")
    worker.pace.stop()  # the next wait ends the loop: had a sixth hurry been kept, it would have polled first
    await assert_eventually(worker.stopped, bool, what="the worker stopped")
    assert len(worker.polls) == 2


async def test_it_polls_at_the_interval(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(timedelta(milliseconds=300), floor=timedelta(milliseconds=100)))
    await assert_eventually(lambda: len(worker.polls), lambda n: n >= 3, what="polls at the interval")
    gaps = [later - earlier for earlier, later in zip(worker.polls, worker.polls[1:], strict=False)]
    assert min(gaps) >= 0.3


async def test_a_shorter_interval_polls_at_once(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(HOUR, floor=timedelta(milliseconds=100)))
    await assert_eventually(lambda: len(worker.polls), lambda n: n == 1, what="a first poll")
    worker.pace.poll_every(timedelta(milliseconds=150))  # the wait under way was for an hour
    await assert_eventually(lambda: len(worker.polls), lambda n: n >= 3, what="polls at the new interval")


async def test_a_stop_ends_a_wait_at_once(workers: list[_Worker]) -> None:
    worker = _start(workers, QueuePace(HOUR, floor=FLOOR))
    await assert_eventually(lambda: len(worker.polls), lambda n: n == 1, what="a first poll")
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
        await survivor.listening()
        for instance_id in ids:
            await survivor.instances.send_event(instance_id, "go")
        # The second waits in the queue until the first ends; its slot, once free, hurries the poll.
        for instance_id in ids:
            assert (await survivor.wait_terminated(instance_id, timeout=30)).instance.error is None
