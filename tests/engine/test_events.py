"""Events are durable (DESIGN §4): each is kept until a `wait_event` stage waiting for its
name takes it, and each is taken once, by one stage."""

from __future__ import annotations

import pytest

from orchestration.errors import InstanceNotFound, ValidationFailed
from tests.testing.engine import EngineHarness, EventRow


async def test_each_event_is_consumed_by_one_stage(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "a"}}, {"wait_event": {"event": "a"}}])
    await engine.instances.send_event(instance_id, "a")
    # The first stage took it; the second waits for one of its own.
    await engine.parked(instance_id, stage=1)
    assert await engine.events(instance_id) == [EventRow("a", consumed_by_stage=0)]
    assert not (await engine.instance(instance_id)).instance.terminated

    await engine.instances.send_event(instance_id, "a")
    done = await engine.wait_terminated(instance_id)
    assert done.instance.error is None
    assert await engine.events(instance_id) == [EventRow("a", 0), EventRow("a", 1)]


async def test_the_oldest_event_of_a_name_is_taken_first_and_the_rest_kept(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "a"}}, {"wait_event": {"event": "never"}}])
    for name in ("a", "b", "a"):
        await engine.instances.send_event(instance_id, name)
    await engine.parked(instance_id, stage=1)  # stage 0 took its event
    assert await engine.events(instance_id) == [EventRow("a", 0), EventRow("b", None), EventRow("a", None)]
    await engine.instances.abort(instance_id)


async def test_event_names_are_case_sensitive(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"wait_event": {"event": "Go"}}])
    await engine.instances.send_event(instance_id, "go")
    # The other name does not make the wait due: nothing is there to wake.
    assert (await engine.parked(instance_id)).due_at is None
    await engine.instances.send_event(instance_id, "Go")
    assert (await engine.wait_terminated(instance_id)).instance.error is None
    # "go" was never taken: it went with the end of the instance.
    assert await engine.events(instance_id) == [EventRow("Go", 0)]


async def test_an_event_for_an_ended_instance_is_refused(engine: EngineHarness) -> None:
    instance_id = await engine.run([{"noop": {}}])
    await engine.wait_terminated(instance_id)
    with pytest.raises(ValidationFailed, match="terminated"):
        await engine.instances.send_event(instance_id, "late")
    assert await engine.events(instance_id) == []


async def test_an_event_for_an_unknown_instance_is_not_found(engine: EngineHarness) -> None:
    with pytest.raises(InstanceNotFound):
        await engine.instances.send_event("00000000-0000-0000-0000-000000000000", "x")
