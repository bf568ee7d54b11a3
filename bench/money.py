"""Money benchmark: a workflow of 4 `send` stages against the fake Formance gateway, beside
a workflow of 4 stages that run through the same workflow and call nothing (1 ms delays), on
one server in the same run.

    .venv/bin/python -m bench.money [--instances 500] [--concurrency 16] [--quick]

Each instance is run with `?wait=true`, which answers once it has ended: nothing polls, so
the server's CPU is the instances' own (and the request's, the same for both). Prints
instances/s, latencies and server CPU of both, and the overhead per activity: (send − delay)
/ 4, since each send stage makes one ledger call; then the floor of the same run, the same
ledger call made bare (`bench.http_floor`, a process of its own): what a client spends on
the request alone, against what the server spends.
The fake gateway runs in this process on loopback (a real HTTP server), so its
own cost is part of the figure; a real Ledger answers in a few milliseconds more.
No figure is asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.testing.fake_stack import FakeStack

from ._client import LOAD_CLIENT_LINE, BenchClient
from ._harness import REPO_ROOT, bounded, die_with_parent, fmt_latency, load, percentiles, run_to_summary, say
from ._runs import create_workflow, new_client
from ._server import BenchServer
from ._sizes import Sizes

LEDGER = "bench"
TARGET_PER_ACTIVITY_MS = 3.0  # printed next to the figure, not asserted
SEND_STAGE = {
    "send": {
        "source": {"account": {"id": "world", "ledger": LEDGER}},
        "destination": {"account": {"id": "bank", "ledger": LEDGER}},
        "amount": {"amount": 100, "asset": "USD/2"},
    }
}
# The baseline runs through a workflow, stage after stage, as the sends do, but calls nothing: noops
# would run in place, with no workflow at all, and the difference would count the whole workflow
# against the calls. A 1 ms delay takes no step of its own (a brief sleep): the difference is each
# call's whole cost, its activity step included.
STEP_STAGE = {"delay": {"duration": "1ms"}}
STAGES = 4
WORKFLOWS = {
    "step": {"name": f"bench {STAGES} 1 ms delays", "stages": [STEP_STAGE] * STAGES},
    "send": {"name": f"bench {STAGES} sends", "stages": [SEND_STAGE] * STAGES},
}


async def _run_waiting(
    client: BenchClient, workflow_id: str, count: int, concurrency: int
) -> tuple[float, list[float]]:
    """`count` instances, `concurrency` at a time, each request answering once its instance
    has ended: wall seconds and latencies (ms)."""

    async def one(_: int) -> float:
        started = time.perf_counter()
        res = await client.post(f"/v2/workflows/{workflow_id}/instances", params={"wait": "true"}, json={})
        assert res.status_code == 201, res.text
        instance = res.json()["data"]
        assert instance["terminated"] and not instance.get("error"), instance
        return (time.perf_counter() - started) * 1000

    began = time.perf_counter()
    latencies = await bounded(range(count), concurrency, one)
    return time.perf_counter() - began, latencies


async def measure(server: BenchServer, sizes: Sizes) -> dict[str, Any]:
    """Both workflows, one after the other, on the same server."""
    results: dict[str, Any] = {}
    async with new_client(server.url, sizes.concurrency) as client:
        for kind, config in WORKFLOWS.items():
            workflow_id = await create_workflow(client, config)
            await _run_waiting(client, workflow_id, sizes.warmup, sizes.concurrency)
            cpu_before = server.stats().cpu_s
            wall_s, latencies = await _run_waiting(client, workflow_id, sizes.instances, sizes.concurrency)
            cpu_s = server.stats().cpu_s - cpu_before
            latency = percentiles(latencies)
            results[kind] = {
                "per_s": sizes.instances / wall_s,
                "latency_ms": latency,
                "cpu_ms_each": cpu_s * 1000 / sizes.instances,
            }
            say(
                f"{kind}: {sizes.instances / wall_s:.1f} instances/s, {fmt_latency(latency)}, "
                f"server CPU {cpu_s * 1000 / sizes.instances:.1f} ms per instance ({load()})"
            )
    step, send = results["step"], results["send"]
    per_activity_ms = (send["latency_ms"]["p50"] - step["latency_ms"]["p50"]) / STAGES
    per_activity_cpu_ms = (send["cpu_ms_each"] - step["cpu_ms_each"]) / STAGES
    say(f"overhead per activity: {per_activity_ms:.1f} ms of p50 latency, {per_activity_cpu_ms:.1f} ms of server CPU")
    results["per_activity_ms"] = per_activity_ms
    results["per_activity_cpu_ms"] = per_activity_cpu_ms
    return results


def http_floor(url: str, count: int, concurrency: int) -> dict[str, Any]:
    """`bench.http_floor` in a process of its own: CPU per bare ledger call."""
    command = [
        sys.executable, "-m", "bench.http_floor", "--url", url, "--ledger", LEDGER,
        "--count", str(count), "--concurrency", str(concurrency),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, timeout=300, check=True, preexec_fn=die_with_parent
    )
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return {**result, "cpu_ms_each": result["cpu_s"] * 1000 / result["count"]}


async def main(count: int, concurrency: int) -> dict[str, Any]:
    sizes = Sizes(
        instances=count, concurrency=concurrency, waiting=0, warmup=10, settle_s=0, window_s=0,
        sample=0, poll_interval_s=0.02, timeout_s=120.0,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="orchestration-money-") as tmp, FakeStack() as stack:
        stack.create_ledger(LEDGER)
        stack_args = stack.server_args()
        server = BenchServer(data_dir=Path(tmp) / "data", extra_args=stack_args)
        say(f"== money: {count} instances of {STAGES} 1 ms delays, then of {STAGES} send "
            f"stages, concurrency {concurrency}, each run with ?wait=true")
        say(LOAD_CLIENT_LINE)
        try:
            server.start()
            summary = await measure(server, sizes)
        finally:
            server.stop()
        postings = len(stack.transactions(LEDGER))
        say(f"ledger postings: {postings} (expected {STAGES * (count + sizes.warmup)})")
        summary["postings"] = postings
        summary["floor"] = http_floor(stack.url, count, concurrency)
        floor_ms = summary["floor"]["cpu_ms_each"]
        say(
            f"floor, a bare ledger call (httpx, the server's own ledger client): {floor_ms:.2f} ms of CPU per call "
            f"({count} calls, {load()}); "
            f"the server's cost per activity over it: {summary['per_activity_cpu_ms'] - floor_ms:.1f} ms "
            f"(target <= {TARGET_PER_ACTIVITY_MS:.0f} ms)"
        )
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m bench.money", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="2 x concurrency instances each (32), for a smoke check")
    args = parser.parse_args()
    # Quick: enough instances for the poller to see some terminate while others start.
    run_to_summary(main(2 * args.concurrency if args.quick else args.instances, args.concurrency))
