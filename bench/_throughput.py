"""Measures 1 and 2: the server's throughput on 3-`noop` instances, and the floor, the
same number of bare DBOS workflows of 3 trivial steps (`bench.floor`, in a process of its own).

Measure 1 sees termination through one poller (see `bench._runs`); its cost to the server
is measured (server CPU per poll on the idle server, times the number of polls) and
printed, and so is the server's own createdAt→terminatedAt, which has no poll in it.

Both take a `meter` (bench.scale's database figures): called right where the server's CPU
is read, before and after the measured run, its two readings are returned as "readings".
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ._client import BenchClient
from ._harness import REPO_ROOT, die_with_parent, fmt_latency, load, percentiles, say
from ._logs import summarize_log
from ._profile import Profiler, print_profile
from ._runs import RUNNING_PAGE, create_workflow, new_client, run_tracked
from ._server import BenchServer
from ._sizes import Sizes

NOOP_WORKFLOW = {"name": "bench three noops", "stages": [{"noop": {}}, {"noop": {}}, {"noop": {}}]}
# Instant stages only need no workflow (they run in place, in one transaction); a 1 ms delay
# between two noops takes a step: this instance runs through its workflow, three steps like the floor's.
STEP_WORKFLOW = {
    "name": "bench noop, 1 ms delay, noop",
    "stages": [{"noop": {}}, {"delay": {"duration": "1ms"}}, {"noop": {}}],
}


def parse_time(value: str) -> float:
    """A wire timestamp (`...Z`) as POSIX seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def server_recorded_latencies(client: BenchClient, instance_ids: set[str]) -> list[float]:
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


async def poll_cost(server: BenchServer, client: BenchClient, polls: int = 100) -> tuple[float, float]:
    """Server CPU ms and round-trip ms of one running-instances poll, on the idle server."""
    before = server.stats().cpu_s
    started = time.perf_counter()
    for _ in range(polls):
        (await client.get("/v2/instances", params=RUNNING_PAGE)).raise_for_status()
    elapsed = time.perf_counter() - started
    return (server.stats().cpu_s - before) * 1000 / polls, elapsed * 1000 / polls


async def measure_throughput(
    work_dir: Path,
    sizes: Sizes,
    *,
    profile: bool,
    server: BenchServer | None = None,
    meter: Callable[[], object] | None = None,
    title: str = "1. server throughput",
    workflow: dict[str, Any] = NOOP_WORKFLOW,
) -> dict[str, Any]:
    """On `server` (started and stopped here) if given, else on a fresh embedded one."""
    say(f"== {title}: {sizes.instances} instances of '{workflow['name']}', concurrency {sizes.concurrency}")
    server = server or BenchServer(data_dir=work_dir / "throughput-data")
    readings: list[object] = []
    try:
        server.start()
        async with new_client(server.url, sizes.concurrency) as client:
            workflow_id = await create_workflow(client, workflow)
            if sizes.warmup:  # connection pools, SQLite caches, code paths: not part of the figure
                await run_tracked(client, workflow_id, sizes.warmup, sizes)
            profiler = Profiler(server.pid, work_dir / "throughput.collapsed") if profile else None
            readings += [meter()] if meter else []
            cpu_before, client_cpu_before = server.stats().cpu_s, time.process_time()
            try:
                run = await run_tracked(client, workflow_id, sizes.instances, sizes)
            finally:
                server_cpu_s = server.stats().cpu_s - cpu_before
                client_cpu_s = time.process_time() - client_cpu_before
                readings += [meter()] if meter else []
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
    result = {
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
    if meter:
        result["readings"] = tuple(readings)
    return result


def measure_floor(
    work_dir: Path,
    sizes: Sizes,
    *,
    count: int | None = None,
    concurrency: int | None = None,
    title: str = "2. engine floor",
    open_loop: bool = False,
    postgres_uri: str | None = None,
    meter: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """`bench.floor` in a process of its own, on a fresh SQLite file, or on `postgres_uri`."""
    count, concurrency = count or sizes.instances, concurrency or sizes.concurrency
    shape = "open loop, " if open_loop else ""
    on = " on PostgreSQL" if postgres_uri else ""
    say(f"== {title}: {count} bare DBOS workflows of 3 steps{on}, {shape}concurrency {concurrency}")
    name = f"{concurrency}{'-open' if open_loop else ''}{'-pg' if postgres_uri else ''}"
    if postgres_uri:
        database = ["--postgres-uri", postgres_uri]
    else:
        data_dir = work_dir / f"floor-data-{name}"
        data_dir.mkdir()
        database = ["--data-dir", str(data_dir)]
    command = [
        sys.executable, "-m", "bench.floor",
        "--count", str(count), "--concurrency", str(concurrency),
        "--warmup", str(sizes.warmup), *database,
        *(["--open-loop"] if open_loop else []),
    ]  # fmt: skip
    readings: list[object] = []
    with open(work_dir / f"floor-{name}.log", "wb") as log:
        if meter is None:
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
            output = done.stdout.decode()
        else:
            output = _run_floor_metered(command, log, meter, readings, sizes.timeout_s)
    result = json.loads(output.strip().splitlines()[-1])
    latency = percentiles(result["latencies_ms"])
    say(f"floor: {result['per_s']:.1f} workflows/s ({result['count']} in {result['wall_s']:.2f} s; {load()})")
    say(f"floor start-to-result latency: {fmt_latency(latency)}")
    cpu_ms = result["cpu_s"] * 1000 / result["count"]
    share = result["cpu_s"] / result["wall_s"] * 100
    say(f"floor CPU: {result['cpu_s']:.1f} s ({share:.0f}% of one core), {cpu_ms:.1f} ms per workflow")
    figures = {"per_s": result["per_s"], "wall_s": result["wall_s"], "latency_ms": latency, "cpu_ms_each": cpu_ms}
    if meter:
        figures["readings"] = tuple(readings)
    return figures


def _run_floor_metered(
    command: list[str], log: IO[bytes], meter: Callable[[], object], readings: list[object], timeout_s: float
) -> str:
    """Run the floor with `--wait-for-go`: it says when its warm-up is over and waits, so
    that `meter` is read right before and right after the measured run; its stdout."""
    proc = subprocess.Popen(
        [*command, "--wait-for-go"],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        preexec_fn=die_with_parent,
    )
    assert proc.stdout is not None
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout_s) or not proc.stdout.readline():
                raise RuntimeError(f"the floor did not get ready (see {log.name})")
        readings.append(meter())
        output, _ = proc.communicate(b"go\n", timeout=timeout_s)
        readings.append(meter())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, command)
    return output.decode()
