"""Instances parked by an earlier release resume on this one (STYLE R12).

`recorded/<release>_parked` was made by `recorded/make_parked.py` with that release and
left as a crash leaves it: a delay, a wait for an event, a ledger call waiting for its
second attempt, since 0.2.0 an instance continued after a parked wait, and since 0.3.0 a
Stripe payout whose ledger entry waits for its second attempt and a cross-ledger move whose
configuration holds options that release ignored. An engine of this release
starts on a copy of it, as `orchestration serve` would, and replays what was recorded.
Changing the instance workflow's step sequence must keep this test green.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.testing.engine import EngineHarness
from tests.testing.fake_stack import FakeStack

RECORDED = sorted((Path(__file__).parent / "recorded").glob("*_parked"))
LEDGER = "recorded"  # the ledger `make_parked.py` posts to
PAYOUT_LEDGER = "payouts"  # where its payout debits `merchant`
BRIDGED_LEDGERS = ("bridged-a", "bridged-b")  # where its move with throughAccounts goes


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda path: path.name)
async def test_parked_instances_of_a_recorded_release_finish(recorded: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(recorded, data)
    ids = json.loads((data / "instances.json").read_text())
    with FakeStack() as stack:
        stack.create_ledger(LEDGER)
        stack.create_ledger(PAYOUT_LEDGER)
        stack.fund(PAYOUT_LEDGER, "merchant", "USD/2", 100)
        for ledger in BRIDGED_LEDGERS:
            stack.create_ledger(ledger)
        async with EngineHarness.running(data, stack_url=stack.url) as engine:
            assert not (await engine.instance(ids["wait_event"])).instance.terminated
            await engine.instances.send_event(ids["wait_event"], "go")
            for name, instance_id in ids.items():
                done = await engine.wait_terminated(instance_id)
                assert done.instance.error is None, (name, done)
                assert all(s.terminated_at is not None and s.error is None for s in done.stages or []), (name, done)
            posted = stack.transactions(LEDGER)  # by `retry`, and by `slept` where it was recorded
            assert len(posted) == 1 + ("slept" in ids)
            assert all([p["destination"] for p in posting["postings"]] == ["bank"] for posting in posted)
            [activity] = await engine.instances.stage_history(ids["retry"], 0)
            assert activity.attempt == 2 and activity.terminated_at is not None
            if "payout" in ids:
                # Replayed as recorded: the Stripe transfer is not made again, the ledger entry follows it.
                history = await engine.instances.stage_history(ids["payout"], 0)
                assert [a.name for a in history] == ["GetAccount", "StripeTransfer", "CreateTransaction"]
                assert stack.transfer_initiations() == []
                [debit] = stack.transactions(PAYOUT_LEDGER)[1:]  # after the funding
                assert [(p["source"], p["destination"]) for p in debit["postings"]] == [("merchant", "world")]
            if "bridged" in ids:
                # Its first leg went out through `world`, as the release ran it: so does the second, whatever
                # the configuration says now.
                [second] = stack.transactions(BRIDGED_LEDGERS[1])
                assert [(p["source"], p["destination"]) for p in second["postings"]] == [("world", "bank")]
                [stage] = (await engine.instance(ids["bridged"])).stages or []
                assert "throughAccount" not in stage.input["source"]["account"]
