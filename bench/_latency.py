"""Measure 0: the latency of one instance with nothing else running, `?wait=true` on 3 `noop`
stages, run after run; and the floor's, one bare DBOS workflow of 3 steps at a time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ._harness import fmt_latency, load, percentiles, say
from ._runs import create_workflow, new_client
from ._server import BenchServer
from ._sizes import Sizes
from ._throughput import NOOP_WORKFLOW, measure_floor

TARGET_P50_MS, TARGET_P99_MS = 20, 50  # printed next to the figures (not asserted)


async def measure_latency(work_dir: Path, sizes: Sizes) -> dict[str, Any]:
    runs = sizes.latency_runs
    say(f"== 0. latency: {runs} instances of 3 noop stages with ?wait=true, one at a time")
    server = BenchServer(data_dir=work_dir / "latency-data")
    latencies: list[float] = []
    try:
        server.start()
        async with new_client(server.url, 1) as client:
            workflow_id = await create_workflow(client, NOOP_WORKFLOW)
            for n in range(sizes.warmup + runs):
                started = time.perf_counter()
                res = await client.post(f"/v2/workflows/{workflow_id}/instances", params={"wait": "true"}, json={})
                elapsed = (time.perf_counter() - started) * 1000
                res.raise_for_status()
                if not res.json()["data"]["terminated"]:
                    raise RuntimeError(f"instance {res.json()['data']['id']} not terminated within the wait")
                if n >= sizes.warmup:
                    latencies.append(elapsed)
    finally:
        server.stop()
    server_ms = percentiles(latencies)
    say(f"server request-to-terminated: {fmt_latency(server_ms)} "
        f"(targets p50 <= {TARGET_P50_MS} ms, p99 <= {TARGET_P99_MS} ms; {load()})")
    floor = measure_floor(work_dir, sizes, count=runs, concurrency=1, title="0. floor latency")
    return {"runs": runs, "latency_ms": server_ms, "floor_latency_ms": floor["latency_ms"]}
