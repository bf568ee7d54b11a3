"""Measures 1 and 2: the server's throughput on 3-`noop` instances, and the floor, the
same number of bare DBOS workflows of 3 trivial steps (`bench.floor`, in a process of its own).

Measure 1 sees termination through one poller (see `bench._runs`); its cost to the server
is measured (server CPU per poll on the idle server, times the number of polls) and
printed, and so is the server's own createdAt→terminatedAt, which has no poll in it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ._harness import REPO_ROOT, die_with_parent, fmt_latency, load, percentiles, say
from ._logs import summarize_log
from ._profile import Profiler, print_profile
from ._runs import RUNNING_PAGE, create_workflow, new_client, run_tracked
from ._server import BenchServer
from ._sizes import Sizes

NOOP_WORKFLOW = {"name": "bench three noops", "stages": [{"noop": {}}, {"noop": {}}, {"noop": {}}]}


def parse_time(value: str) -> float:
    """A wire timestamp (`...Z`) as POSIX seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def server_recorded_latencies(client: httpx.AsyncClient, instance_ids: set[str]) -> list[float]:
    """createdAt→terminatedAt (ms) of these instances, as the server wrote them: no poll in it."""
    latencies: list[float] = []
    params: dict[str, str] = {"pageSize": "100"}
    while True:
        res = await client.get("/v2/instances", params=params)
        res.raise_for_status()
        page = res.json()["cursor"]
        for item in page["data"]:
            if item["id"] in instance_ids and item.get("terminatedAt"):
                latencies.append((parse_time(item["terminatedAt"]) - parse_time(item["createdAt"])) * 1000)
        if not page["hasMore"]:
            return latencies
        params = {"cursor": page["next"]}


async def poll_cost(server: BenchServer, client: httpx.AsyncClient, polls: int = 100) -> tuple[float, float]:
    """Server CPU ms and round-trip ms of one running-instances poll, on the idle server."""
    before = server.stats().cpu_s
    started = time.perf_counter()
    for _ in range(polls):
        (await client.get("/v2/instances", params=RUNNING_PAGE)).raise_for_status()
    elapsed = time.perf_counter() - started
    return (server.stats().cpu_s - before) * 1000 / polls, elapsed * 1000 / polls


async def measure_throughput(work_dir: Path, sizes: Sizes, *, profile: bool) -> dict[str, Any]:
    say(f"== 1. server throughput: {sizes.instances} instances of 3 noop stages, concurrency {sizes.concurrency}")
    server = BenchServer(data_dir=work_dir / "throughput-data")
    try:
        server.start()
        async with new_client(server.url, sizes.concurrency) as client:
            workflow_id = await create_workflow(client, NOOP_WORKFLOW)
            if sizes.warmup:  # connection pools, SQLite caches, code paths: not part of the figure
                await run_tracked(client, workflow_id, sizes.warmup, sizes)
            profiler = Profiler(server.pid, work_dir / "throughput.collapsed") if profile else None
            cpu_before, client_cpu_before = server.stats().cpu_s, time.process_time()
            try:
                run = await run_tracked(client, workflow_id, sizes.instances, sizes)
            finally:
                server_cpu_s = server.stats().cpu_s - cpu_before
                client_cpu_s = time.process_time() - client_cpu_before
                if profiler:
                    profiler.stop()
            recorded = await server_recorded_latencies(client, set(run.instance_ids))
            poll_cpu_ms, poll_rtt_ms = await poll_cost(server, client)
    finally:
        server.stop()
    per_s = sizes.instances / run.wall_s
    client_ms = percentiles(run.latencies_ms)
    server_ms = percentiles(recorded)
    poll_share = run.polls * poll_cpu_ms / 1000 / server_cpu_s if server_cpu_s else float("nan")
    say(f"server: {per_s:.1f} instances/s ({sizes.instances} in {run.wall_s:.2f} s; {load()})")
    say(f"server run-to-terminated latency (client, via poll): {fmt_latency(client_ms)}")
    say(f"server createdAt-to-terminatedAt (recorded by the server): {fmt_latency(server_ms)}")
    say(
        f"server CPU during the run: {server_cpu_s:.1f} s ({server_cpu_s / run.wall_s * 100:.0f}% of one core), "
        f"{server_cpu_s * 1000 / sizes.instances:.1f} ms per instance; "
        f"bench client CPU: {client_cpu_s:.1f} s ({client_cpu_s / run.wall_s * 100:.0f}%)"
    )
    say(
        f"polling: {run.polls} polls ({run.polls / run.wall_s:.0f}/s), {poll_cpu_ms:.2f} ms server CPU each "
        f"(idle, round trip {poll_rtt_ms:.2f} ms) = ~{poll_share * 100:.0f}% of the server's CPU during the run"
        + (f"; {run.overflows} polls overflowed a page" if run.overflows else "")
    )
    if profiler:
        print_profile(profiler.output)
    return {
        "instances": sizes.instances,
        "concurrency": sizes.concurrency,
        "wall_s": run.wall_s,
        "per_s": per_s,
        "latency_ms": client_ms,
        "recorded_latency_ms": server_ms,
        "server_cpu_s": server_cpu_s,
        "cpu_ms_each": server_cpu_s * 1000 / sizes.instances,
        "client_cpu_s": client_cpu_s,
        "polls": run.polls,
        "poll_server_cpu_ms": poll_cpu_ms,
        "poll_share_of_server_cpu": poll_share,
        "log": summarize_log(server.log_path),
    }


def measure_floor(work_dir: Path, sizes: Sizes, *, count: int | None = None, concurrency: int | None = None,
                  title: str = "2. engine floor", open_loop: bool = False) -> dict[str, Any]:
    count, concurrency = count or sizes.instances, concurrency or sizes.concurrency
    shape = "open loop, " if open_loop else ""
    say(f"== {title}: {count} bare DBOS workflows of 3 steps, {shape}concurrency {concurrency}")
    name = f"{concurrency}{'-open' if open_loop else ''}"
    data_dir = work_dir / f"floor-data-{name}"
    data_dir.mkdir()
    command = [
        sys.executable, "-m", "bench.floor",
        "--count", str(count), "--concurrency", str(concurrency),
        "--warmup", str(sizes.warmup), "--data-dir", str(data_dir),
        *(["--open-loop"] if open_loop else []),
    ]  # fmt: skip
    with open(work_dir / f"floor-{name}.log", "wb") as log:
        # subprocess.run kills the child on timeout (and on any exception) before raising.
        done = subprocess.run(
            command,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            timeout=sizes.timeout_s,
            check=True,
            preexec_fn=die_with_parent,
        )
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    latency = percentiles(result["latencies_ms"])
    say(f"floor: {result['per_s']:.1f} workflows/s ({result['count']} in {result['wall_s']:.2f} s; {load()})")
    say(f"floor start-to-result latency: {fmt_latency(latency)}")
    cpu_ms = result["cpu_s"] * 1000 / result["count"]
    share = result["cpu_s"] / result["wall_s"] * 100
    say(f"floor CPU: {result['cpu_s']:.1f} s ({share:.0f}% of one core), {cpu_ms:.1f} ms per workflow")
    return {"per_s": result["per_s"], "wall_s": result["wall_s"], "latency_ms": latency, "cpu_ms_each": cpu_ms}
