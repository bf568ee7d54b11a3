"""Money benchmark: a workflow of 4 `send` stages against the fake Formance gateway, beside
a workflow of 4 stages that run through the same workflow and call nothing (1 ms delays), on
one server in the same run.

    .venv/bin/python -m bench.money [--instances 500] [--concurrency 16] [--rounds 5] [--quick]

Each instance is run with `?wait=true`, which answers once it has ended: nothing polls, so
the server's CPU is the instances' own (and the request's, the same for both). The run is cut
in rounds; each round runs N/rounds instances of each workflow, then the floor: the same
ledger calls made bare (`bench.http_floor`, a process of its own), what a client spends on the
request alone. A round's overhead per activity is (send − delay) / 4 of server CPU per
instance, since each send stage makes one ledger call, minus the floor's CPU per call; the
figure is the median of the rounds. Also printed: instances/s, latencies and server CPU of
both workflows over all rounds.
The fake gateway runs in this process on loopback (a real HTTP server), so its
own cost is part of the figure; a real Ledger answers in a few milliseconds more.
No figure is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
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


async def _run_kind(
    client: BenchClient, server: BenchServer, workflow_id: str, count: int, concurrency: int
) -> tuple[float, list[float], float]:
    """`count` instances of one workflow: wall seconds, latencies (ms), server CPU seconds."""
    cpu_before = server.stats().cpu_s
    wall_s, latencies = await _run_waiting(client, workflow_id, count, concurrency)
    return wall_s, latencies, server.stats().cpu_s - cpu_before


async def measure(server: BenchServer, sizes: Sizes, rounds: int, floor_url: str) -> dict[str, Any]:
    """Both workflows on the same server, in `rounds` rounds of delays, sends and the floor's bare
    calls: the machine's speed drifts over minutes, and a difference of three measures made minutes
    apart drifts with it. Each round gives the overhead per activity over the floor of that round;
    the median of the rounds is the figure."""
    per_round = max(1, sizes.instances // rounds)
    walls = {kind: 0.0 for kind in WORKFLOWS}
    cpus = {kind: 0.0 for kind in WORKFLOWS}
    latencies: dict[str, list[float]] = {kind: [] for kind in WORKFLOWS}
    overheads: list[float] = []
    floor_cpu_s = 0.0
    async with new_client(server.url, sizes.concurrency) as client:
        workflow_ids = {kind: await create_workflow(client, config) for kind, config in WORKFLOWS.items()}
        for workflow_id in workflow_ids.values():
            await _run_waiting(client, workflow_id, sizes.warmup, sizes.concurrency)
        for number in range(1, rounds + 1):
            cpu_each = {}
            for kind, workflow_id in workflow_ids.items():
                wall_s, taken, cpu_s = await _run_kind(client, server, workflow_id, per_round, sizes.concurrency)
                walls[kind] += wall_s
                cpus[kind] += cpu_s
                latencies[kind] += taken
                cpu_each[kind] = cpu_s * 1000 / per_round
            floor = http_floor(floor_url, per_round, sizes.concurrency)
            floor_cpu_s += floor["cpu_s"]
            overhead = (cpu_each["send"] - cpu_each["step"]) / STAGES - floor["cpu_ms_each"]
            overheads.append(overhead)
            say(
                f"round {number}: server CPU per instance {cpu_each['step']:.1f} ms (delays), "
                f"{cpu_each['send']:.1f} ms (sends); floor {floor['cpu_ms_each']:.2f} ms per bare call; "
                f"overhead per activity {overhead:.2f} ms ({load()})"
            )
    results: dict[str, Any] = {}
    count = per_round * rounds
    for kind in WORKFLOWS:
        latency = percentiles(latencies[kind])
        cpu_ms_each = cpus[kind] * 1000 / count
        per_s = count / walls[kind]
        results[kind] = {"count": count, "per_s": per_s, "latency_ms": latency, "cpu_ms_each": cpu_ms_each}
        say(
            f"{kind}: {per_s:.1f} instances/s, {fmt_latency(latency)}, "
            f"server CPU {cpu_ms_each:.1f} ms per instance"
        )
    step, send = results["step"], results["send"]
    results["per_activity_ms"] = (send["latency_ms"]["p50"] - step["latency_ms"]["p50"]) / STAGES
    results["per_activity_cpu_ms"] = (send["cpu_ms_each"] - step["cpu_ms_each"]) / STAGES
    results["floor"] = {"count": count, "cpu_s": floor_cpu_s, "cpu_ms_each": floor_cpu_s * 1000 / count}
    results["overhead_cpu_ms_rounds"] = overheads
    results["overhead_cpu_ms"] = statistics.median(overheads)
    say(
        f"overhead per activity: {results['per_activity_ms']:.1f} ms of p50 latency, "
        f"{results['per_activity_cpu_ms']:.1f} ms of server CPU, all rounds together"
    )
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


async def main(count: int, concurrency: int, rounds: int) -> dict[str, Any]:
    sizes = Sizes(
        instances=count, concurrency=concurrency, waiting=0, warmup=10, settle_s=0, window_s=0,
        sample=0, poll_interval_s=0.02, timeout_s=120.0,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="orchestration-money-") as tmp, FakeStack() as stack:
        stack.create_ledger(LEDGER)
        stack_args = stack.server_args()
        server = BenchServer(data_dir=Path(tmp) / "data", extra_args=stack_args)
        say(f"== money: {count} instances of {STAGES} 1 ms delays and {count} of {STAGES} send stages, "
            f"in {rounds} rounds with the floor's bare calls, concurrency {concurrency}, each run with ?wait=true")
        say(LOAD_CLIENT_LINE)
        try:
            server.start()
            summary = await measure(server, sizes, rounds, stack.url)
        finally:
            server.stop()
        postings = len(stack.transactions(LEDGER))
        # Every send instance posts once per stage, warm-up included; the floor's bare calls post too.
        expected = STAGES * (summary["send"]["count"] + sizes.warmup) + summary["floor"]["count"]
        say(f"ledger postings: {postings} (expected {expected})")
        summary["postings"] = postings
        say(
            f"floor, a bare ledger call (aiohttp, the server's own ledger library): "
            f"{summary['floor']['cpu_ms_each']:.2f} ms of CPU per call; "
            f"the server's cost per activity over it: {summary['overhead_cpu_ms']:.1f} ms, the median of "
            f"{rounds} rounds ({', '.join(f'{o:.1f}' for o in summary['overhead_cpu_ms_rounds'])}) "
            f"(target <= {TARGET_PER_ACTIVITY_MS:.0f} ms)"
        )
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m bench.money", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of delays, sends and bare calls (5)")
    parser.add_argument(
        "--quick", action="store_true", help="2 x concurrency instances each (32), in 2 rounds, for a smoke check"
    )
    args = parser.parse_args()
    if args.instances < 1 or args.rounds < 1 or args.concurrency < 1:
        parser.error("--instances, --rounds and --concurrency must be at least 1")
    if args.quick:
        run_to_summary(main(2 * args.concurrency, args.concurrency, 2))
    else:
        run_to_summary(main(args.instances, args.concurrency, args.rounds))
