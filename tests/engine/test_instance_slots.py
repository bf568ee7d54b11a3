"""`--max-parallel-instances`: a process runs at most that many instances at once; the others
wait their turn, with nothing recorded, and run when one ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import StartEngine
from tests.testing.engine import EngineHarness
from tests.testing.waiting import assert_eventually

LIMIT = 2
# Held in memory by its workflow: a wait after a stage that needs the workflow (a delay too
# short to park); an instance that starts with a wait parks at once, with no workflow.
WAIT_FOR_GO = [{"delay": {"duration": "1ms"}}, {"wait_event": {"event": "go"}}, {"noop": {}}]


async def _started(engine: EngineHarness, ids: list[str]) -> list[str]:
    return [i for i in ids if (await engine.instance(i)).stages]


def _most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant (an end before a start at the same instant)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = most = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


async def test_instances_beyond_the_limit_wait_for_one_to_end(start_engine: StartEngine) -> None:
    # Waits stay in memory (no parking), so an instance holds its slot while it waits.
    engine = await start_engine(max_parallel_instances=LIMIT, park_after=timedelta(hours=1))
    ids = [await engine.run(WAIT_FOR_GO) for _ in range(5)]
    first = await assert_eventually(lambda: _started(engine, ids), lambda s: len(s) == LIMIT, what="two started")

    for instance_id in ids:  # kept until their instance's wait takes them
        await engine.instances.send_event(instance_id, "go")
    done = [await engine.wait_terminated(i) for i in ids]
    assert all(view.instance.error is None and len(view.stages or []) == 3 for view in done)

    # Each instance ran from its first stage's start to its end: never more than LIMIT at once.
    spans = [(view.stages[0].started_at, view.instance.terminated_at) for view in done if view.stages]
    assert len(spans) == 5 and all(end is not None for _, end in spans)
    assert _most_at_once([(start, end) for start, end in spans if end is not None]) == LIMIT
    later = [view for view in done if view.instance.id not in first]
    assert min(v.stages[0].started_at for v in later if v.stages) >= min(
        v.instance.terminated_at for v in done if v.instance.id in first and v.instance.terminated_at
    )


async def test_no_limit_runs_them_all_at_once(start_engine: StartEngine) -> None:
    engine = await start_engine(max_parallel_instances=0, park_after=timedelta(hours=1))
    ids = [await engine.run(WAIT_FOR_GO) for _ in range(5)]
    await assert_eventually(lambda: _started(engine, ids), lambda s: len(s) == 5, what="all five started")
    for instance_id in ids:
        await engine.instances.send_event(instance_id, "go")
    for instance_id in ids:
        assert (await engine.wait_terminated(instance_id)).instance.error is None
