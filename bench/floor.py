"""The engine's floor: bare DBOS async workflows of 3 trivial steps on SQLite (or PostgreSQL).

Run by `bench.core` and `bench.scale` in a subprocess of its own (DBOS is a process-wide
singleton, and the server under test must not share a CPU-bound loop with it):

    .venv/bin/python -m bench.floor --count 2000 --concurrency 32 --data-dir /tmp/x

It prints one JSON line: {"count", "concurrency", "wall_s", "per_s", "cpu_s", "latencies_ms": [...]}.
Latency is from `DBOS.start_workflow_async` to `handle.get_result()` returning,
the counterpart of the server's run-request-to-terminated. `--open-loop` starts them
all (`--concurrency` starts at a time) before waiting for any. `--postgres-uri URI` puts
DBOS's system database there instead of in `--data-dir`. `--wait-for-go` prints
{"ready": true} once the warm-up is over and reads a line from stdin before the measured run
(bench.scale reads the database's figures right then).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from dbos import DBOS, DBOSConfig, WorkflowHandleAsync


@DBOS.step()
async def step_one(n: int) -> int:
    return n + 1


@DBOS.step()
async def step_two(n: int) -> int:
    return n * 2


@DBOS.step()
async def step_three(n: int) -> int:
    return n - 1


@DBOS.workflow()
async def three_steps(n: int) -> int:
    """As close as DBOS gets to the server's 3-noop-stage instance, without its bookkeeping."""
    return await step_three(await step_two(await step_one(n)))


async def _run_one(n: int, gate: asyncio.Semaphore) -> float:
    """Start one workflow and wait for its result; its latency in seconds."""
    async with gate:
        started = time.perf_counter()
        handle = await DBOS.start_workflow_async(three_steps, n)
        await handle.get_result()
        return time.perf_counter() - started


async def _run_open(count: int, concurrency: int) -> tuple[float, float, list[float]]:
    """Open loop: start every workflow (`concurrency` starts at a time) without waiting for
    any, then wait for all; wall seconds, CPU seconds and start-to-result latencies."""
    gate = asyncio.Semaphore(concurrency)

    async def start(n: int) -> tuple[float, WorkflowHandleAsync[int]]:
        async with gate:
            return time.perf_counter(), await DBOS.start_workflow_async(three_steps, n)

    async def result(started: float, handle: WorkflowHandleAsync[int]) -> float:
        await handle.get_result()
        return time.perf_counter() - started

    began, cpu = time.perf_counter(), time.process_time()
    handles = await asyncio.gather(*(start(n) for n in range(count)))
    latencies = await asyncio.gather(*(result(started, handle) for started, handle in handles))
    return time.perf_counter() - began, time.process_time() - cpu, list(latencies)


async def _run_many(count: int, concurrency: int) -> tuple[float, float, list[float]]:
    """Wall seconds, CPU seconds (all threads of this process) and the latencies."""
    gate = asyncio.Semaphore(concurrency)
    started, cpu = time.perf_counter(), time.process_time()
    latencies = await asyncio.gather(*(_run_one(n, gate) for n in range(count)))
    return time.perf_counter() - started, time.process_time() - cpu, list(latencies)


async def _wait_for_go() -> None:
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.to_thread(sys.stdin.readline)


async def main(
    count: int, concurrency: int, warmup: int, system_database_url: str, *, open_loop: bool, wait_for_go: bool
) -> dict[str, object]:
    config: DBOSConfig = {
        "name": "bench-floor",
        "system_database_url": system_database_url,
        "application_version": "bench-floor-1",
        "log_level": "WARNING",
    }
    DBOS(config=config)
    # From the running loop, as the server does: async workflows then run on this loop.
    DBOS.launch()
    try:
        if warmup:
            await _run_many(warmup, concurrency)  # connections, caches: not part of the figure
        if wait_for_go:
            await _wait_for_go()
        wall, cpu, latencies = await (_run_open if open_loop else _run_many)(count, concurrency)
    finally:
        await asyncio.to_thread(DBOS.destroy, workflow_completion_timeout_sec=0)
    return {
        "count": count,
        "concurrency": concurrency,
        "wall_s": wall,
        "per_s": count / wall,
        "cpu_s": cpu,
        "latencies_ms": [round(s * 1000, 3) for s in latencies],
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.floor", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=0, help="workflows run first and not measured")
    database = parser.add_mutually_exclusive_group(required=True)
    database.add_argument("--data-dir", type=Path, help="where floor.sqlite is created")
    database.add_argument("--postgres-uri", help="DBOS's system database on PostgreSQL instead")
    parser.add_argument("--open-loop", action="store_true", help="start them all, then wait for all")
    parser.add_argument("--wait-for-go", action="store_true", help="after the warm-up, wait for a line on stdin")
    return parser.parse_args()


if __name__ == "__main__":
    args = _parse_args()
    url = args.postgres_uri or f"sqlite:///{(args.data_dir / 'floor.sqlite').resolve()}"
    run = main(args.count, args.concurrency, args.warmup, url, open_loop=args.open_loop, wait_for_go=args.wait_for_go)
    result = asyncio.run(run)
    print(json.dumps(result), flush=True)
