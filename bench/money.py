"""Money benchmark: a 2-stage `send` workflow against the fake Formance gateway, beside
a 2-stage `noop` workflow, on one server in the same run.

    .venv/bin/python bench/money.py [--instances 500] [--concurrency 16]

Prints instances/s and latencies of both, and the overhead per activity:
(send latency − noop latency) / 2, since each send stage makes one ledger call.
The fake gateway runs in this process on loopback (a real HTTP server), so its
own cost is part of the figure; a real Ledger answers in a few milliseconds more.
No figure is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # tests.testing.fake_stack
sys.path.insert(0, str(BENCH_DIR))  # core

import core  # noqa: E402

from tests.testing.fake_stack import FakeStack  # noqa: E402

LEDGER = "bench"
SEND_STAGE = {
    "send": {
        "source": {"account": {"id": "world", "ledger": LEDGER}},
        "destination": {"account": {"id": "bank", "ledger": LEDGER}},
        "amount": {"amount": 100, "asset": "USD/2"},
    }
}
WORKFLOWS = {
    "noop": {"name": "bench two noops", "stages": [{"noop": {}}, {"noop": {}}]},
    "send": {"name": "bench two sends", "stages": [SEND_STAGE, SEND_STAGE]},
}


async def measure(server: core.Server, sizes: core.Sizes) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with core.new_client(server.base_url, sizes.concurrency) as client:
        await server.wait_healthy(client, 60)
        for kind, config in WORKFLOWS.items():
            workflow_id = await core.create_workflow(client, config)
            await core.run_tracked(client, workflow_id, sizes.warmup, sizes)
            cpu_before = server.stats().cpu_s
            run = await core.run_tracked(client, workflow_id, sizes.instances, sizes)
            cpu_s = server.stats().cpu_s - cpu_before
            latency = core.percentiles(run.latencies_ms)
            results[kind] = {
                "per_s": sizes.instances / run.wall_s,
                "latency_ms": latency,
                "cpu_ms_each": cpu_s * 1000 / sizes.instances,
            }
            core.say(
                f"{kind}: {sizes.instances / run.wall_s:.1f} instances/s, {core.fmt_latency(latency)}, "
                f"server CPU {cpu_s * 1000 / sizes.instances:.1f} ms per instance"
            )
    noop, send = results["noop"], results["send"]
    per_activity_ms = (send["latency_ms"]["p50"] - noop["latency_ms"]["p50"]) / 2
    per_activity_cpu_ms = (send["cpu_ms_each"] - noop["cpu_ms_each"]) / 2
    core.say(
        f"overhead per activity: {per_activity_ms:.1f} ms of p50 latency, {per_activity_cpu_ms:.1f} ms of server CPU"
    )
    results["per_activity_ms"] = per_activity_ms
    results["per_activity_cpu_ms"] = per_activity_cpu_ms
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="50 instances each, for a smoke check")
    args = parser.parse_args()
    count = 50 if args.quick else args.instances
    sizes = core.Sizes(
        instances=count, concurrency=args.concurrency, waiting=0, warmup=10, settle_s=0, window_s=0,
        sample=0, event_all=False, poll_interval_s=0.02, timeout_s=120.0,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="orchestration-money-") as tmp, FakeStack() as stack:
        stack.create_ledger(LEDGER)
        work = Path(tmp)
        stack_args = ["--stack-url", stack.url, "--stack-client-id", "orchestration", "--stack-client-secret", "secret"]
        server = core.Server(work / "data", work / "server.log", stack_args)
        core.say(f"== money: {count} instances of 2 noop stages, then of 2 send stages, concurrency {args.concurrency}")
        server.spawn()
        try:
            summary = asyncio.run(measure(server, sizes))
        finally:
            server.stop()
        postings = len(stack.transactions(LEDGER))
        core.say(f"ledger postings: {postings} (expected {2 * (count + sizes.warmup)})")
        summary["postings"] = postings
    print(json.dumps({"summary": summary}))


if __name__ == "__main__":
    main()
