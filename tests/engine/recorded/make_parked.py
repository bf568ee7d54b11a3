"""Record a data directory with instances parked mid-way, for `test_recorded.py`.

    .venv/bin/python -m tests.engine.recorded.make_parked tests/engine/recorded/<release>_parked [--current-sends]

Run it with the release whose step sequence must stay resumable, before changing the
instance workflow's steps (STYLE R12). It leaves, in an embedded data directory:
  * `delay`: an instance in a 6 s delay (parked), then a noop;
  * `wait_event`: an instance waiting for the event `go` (parked), then a noop;
  * `retry`: an instance whose ledger call failed once and waits 3 s for its next attempt
    (the gateway is gone after the recording, so only the recorded attempt exists);
  * `continued`: an instance woken from its wait for `go`, whose continuation sleeps in a
    3 s delay (in memory), then a noop;
  * `payout`: a payout from the ledger account `merchant` of ledger `payouts` to the Stripe account
    in its metadata, whose Stripe transfer went through and whose ledger entry waits 3 s for its
    second attempt (the send stage as releases before the newest send options run it);
  * `bridged`: a move from ledger `bridged-a` to `bridged-b` whose configuration names `throughAccount`s
    (keys the release ignored), its first leg done, its second waiting 3 s for its next attempt.
Their ids are written to `instances.json`; `test_recorded.py` sends `go` to `wait_event`.
(0.1.0 had no parking and no `continued`: its delay was 2 s, waiting in memory; 0.1.0 and 0.2.0
have no `payout` and no `bridged`; 0.5.0 was recorded with `--current-sends`, which leaves them out,
since its sends run as this release's, and adds `slept`: a short delay, waited in memory, then a
ledger call waiting 3 s for its second attempt, so that steps recorded after the delay replay;
0.6.0 likewise, its runs recording each attempt in the activity's row instead of a step.)
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import httpx

from tests.testing.fake_stack import FakeStack
from tests.testing.peek import Peek
from tests.testing.server import ServerProcess, eventually

LEDGER = "recorded"
PAYOUT_LEDGER = "payouts"
CONNECTED_ACCOUNT = "acct_recorded"
BRIDGED_LEDGERS = ("bridged-a", "bridged-b")


def _run(client: httpx.Client, stages: list[object]) -> str:
    workflow = client.post("/workflows", json={"stages": stages}).json()["data"]["id"]
    return str(client.post(f"/workflows/{workflow}/instances").json()["data"]["id"])


def _stages(client: httpx.Client, instance_id: str) -> list[object]:
    return list(client.get(f"/instances/{instance_id}").json()["data"].get("status", []))


def main(target: Path, *, older_sends: bool = True) -> None:
    target.mkdir(parents=True, exist_ok=False)
    with FakeStack() as stack:
        stack.create_ledger(LEDGER)
        stack.create_ledger(PAYOUT_LEDGER)
        for ledger in BRIDGED_LEDGERS:
            stack.create_ledger(ledger)
        stack.set_account_metadata(PAYOUT_LEDGER, "merchant", {"formanceAccountID": CONNECTED_ACCOUNT})
        for ledger in (LEDGER, PAYOUT_LEDGER, BRIDGED_LEDGERS[1]):  # `bridged`'s first leg goes through
            stack.fail_next("POST", f"/api/ledger/v2/{ledger}/transactions", times=None, status=503, message="down")
        server = ServerProcess(
            data_dir=target,
            extra_args=[*stack.server_args(), "--activity-retry-initial", "3"],
        ).start()
        client = server.client()
        send = {
            "send": {
                "source": {"account": {"id": "world", "ledger": LEDGER}},
                "destination": {"account": {"id": "bank", "ledger": LEDGER}},
                "amount": {"amount": 100, "asset": "USD/2"},
            }
        }
        ids = {
            "delay": _run(client, [{"delay": {"duration": "6s"}}, {"noop": {}}]),
            "wait_event": _run(client, [{"wait_event": {"event": "go"}}, {"noop": {}}]),
            "continued": _run(client, [{"wait_event": {"event": "go"}}, {"delay": {"duration": "3s"}}, {"noop": {}}]),
        }
        with Peek(server) as peek:
            for instance_id in ids.values():
                eventually(lambda instance_id=instance_id: peek.waits(instance_id), bool)
        client.post(f"/instances/{ids['continued']}/events", json={"name": "go"})
        eventually(lambda: _stages(client, ids["continued"]), lambda stages: len(stages) == 2)
        ids["retry"] = _run(client, [send])
        failing = {"retry": 0}
        if older_sends:
            _run_older_sends(client, ids)
            failing |= {"payout": 0, "bridged": 0}
        else:
            ids["slept"] = _run(client, [{"delay": {"duration": "100ms"}}, send])
            failing["slept"] = 1
        for name, stage in failing.items():
            eventually(
                lambda name=name, stage=stage: client.get(f"/instances/{ids[name]}/stages/{stage}/history").json()
                .get("data", []),
                lambda history: bool(history) and "lastFailure" in history[-1],
            )
        assert len(stack.transfer_initiations()) == (1 if older_sends else 0)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGKILL)  # parked as a crash leaves them
        server.proc.wait()
    for log in target.glob("server-*.log"):
        log.unlink()
    for database in target.glob("*.sqlite"):
        with closing(sqlite3.connect(database)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file each
    for leftover in [*target.glob("*-wal"), *target.glob("*-shm"), target / "worker.lock"]:
        leftover.unlink(missing_ok=True)
    (target / "instances.json").write_text(json.dumps(ids, indent=2) + "\n")


def _run_older_sends(client: httpx.Client, ids: dict[str, str]) -> None:
    """The payout and the cross-ledger move, as releases before the newest send options ran them."""
    payout = {
        "send": {
            "source": {"account": {"id": "merchant", "ledger": PAYOUT_LEDGER}},
            "destination": {"payment": {"psp": "stripe"}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    }
    ids["payout"] = _run(client, [payout])
    bridged = {
        "send": {
            "source": {"account": {"id": "world", "ledger": BRIDGED_LEDGERS[0], "throughAccount": "bridge:out"}},
            "destination": {"account": {"id": "bank", "ledger": BRIDGED_LEDGERS[1], "throughAccount": "bridge:in"}},
            "amount": {"amount": 100, "asset": "USD/2"},
        }
    }
    ids["bridged"] = _run(client, [bridged])


if __name__ == "__main__":
    main(Path(sys.argv[1]), older_sends="--current-sends" not in sys.argv[2:])
