"""Measure 1b: the server's throughput open-loop. N run requests go out as fast as C in
flight allow, each answered as soon as its instance is created: instances pile up and run
while requests keep coming. The window closes when the last one has terminated (read from
the data dir's SQLite file, not through the API: no poll on the server).

On PostgreSQL, bench.scale passes the `server`, the reader of terminations (`terminated`,
straight from the database) and a `meter` read with the server's CPU (see bench._throughput).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._datadir import DataDirReader
from ._harness import bounded, load, say, wait_until
from ._logs import summarize_log
from ._runs import create_workflow, new_client, run_instance, run_tracked
from ._server import BenchServer
from ._sizes import Sizes
from ._throughput import NOOP_WORKFLOW


async def measure_open_loop(
    work_dir: Path,
    sizes: Sizes,
    *,
    server: BenchServer | None = None,
    terminated: Callable[[list[str]], int] | None = None,
    meter: Callable[[], object] | None = None,
    title: str = "1b. server open loop",
) -> dict[str, Any]:
    """On `server` (started and stopped here) if given, else on a fresh embedded one whose
    data dir tells the terminations."""
    say(f"== {title}: {sizes.instances} run requests, {sizes.concurrency} in flight, instances left running")
    if server is None:
        server = BenchServer(data_dir=work_dir / "open-loop-data")
    count_terminated = terminated or DataDirReader(server.data_dir).terminated
    readings: list[object] = []
    try:
        server.start()
        async with new_client(server.url, sizes.concurrency) as client:
            workflow_id = await create_workflow(client, NOOP_WORKFLOW)
            if sizes.warmup:
                await run_tracked(client, workflow_id, sizes.warmup, sizes)
            readings += [meter()] if meter else []
            cpu_before = server.stats().cpu_s
            started = time.perf_counter()
            ids = await bounded(range(sizes.instances), sizes.concurrency, lambda _: run_instance(client, workflow_id))
            posted = time.perf_counter()
            done = await wait_until(
                lambda: count_terminated(ids) >= len(ids), every=0.05, timeout=sizes.timeout_s, what="every instance"
            )
            ended = time.perf_counter()
            server_cpu_s = server.stats().cpu_s - cpu_before
            readings += [meter()] if meter else []
    finally:
        server.stop()
    wall = ended - started
    per_s = sizes.instances / wall
    say(
        f"open loop: {per_s:.1f} instances/s ({sizes.instances} terminated {wall:.2f} s after the first request; "
        f"the requests took {posted - started:.2f} s; {load()})" + ("" if done else " [INCOMPLETE]")
    )
    say(f"open loop: server CPU {server_cpu_s:.1f} s, {server_cpu_s * 1000 / sizes.instances:.1f} ms per instance")
    result = {
        "instances": sizes.instances,
        "wall_s": wall,
        "requests_s": posted - started,
        "per_s": per_s,
        "cpu_ms_each": server_cpu_s * 1000 / sizes.instances,
        "complete": done,
        "log": summarize_log(server.log_path),
    }
    if meter:
        result["readings"] = tuple(readings)
    return result
