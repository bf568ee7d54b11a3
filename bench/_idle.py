"""Measure 3: the RSS and CPU of an idle server, empty, then with W instances parked on a
`wait_event` stage (counted from the data dir, not through the API)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ._client import BenchClient
from ._datadir import DataDirReader
from ._harness import bounded, say, wait_until
from ._runs import create_workflow, new_client, run_instance
from ._server import BenchServer
from ._sizes import Sizes

WAITING_WORKFLOW = {"name": "bench wait go", "stages": [{"wait_event": {"event": "go"}}]}

# Targets, printed next to the figures (not asserted).
TARGET_RSS_MB = 250
TARGET_IDLE_CPU_PCT = 1.0
TARGET_EMPTY_CPU_PCT = 0.5


async def start_waiting(client: BenchClient, sizes: Sizes) -> tuple[list[str], float]:
    """Start W instances of the wait_event workflow; their ids and the run requests' rate."""
    workflow_id = await create_workflow(client, WAITING_WORKFLOW)
    started = time.perf_counter()
    ids = await bounded(range(sizes.waiting), sizes.concurrency, lambda _: run_instance(client, workflow_id))
    return ids, sizes.waiting / (time.perf_counter() - started)


async def idle_window(server: BenchServer, *, settle_s: float, window_s: float) -> dict[str, Any]:
    """Settle, then RSS (sampled every second) and CPU over the window."""
    await asyncio.sleep(settle_s)
    first = server.stats()
    rss_samples = [first.rss_mb]
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < window_s:
        await asyncio.sleep(min(1.0, window_s - elapsed))
        rss_samples.append(server.stats().rss_mb)
    last = server.stats()
    window = time.perf_counter() - started
    return {
        "rss_mb": max(rss_samples),
        "hwm_mb": last.hwm_mb,
        "threads": last.threads,
        "cpu_pct": (last.cpu_s - first.cpu_s) / window * 100,
        "window_s": window,
    }


async def measure_idle(server: BenchServer, reader: DataDirReader, sizes: Sizes) -> tuple[dict[str, Any], list[str]]:
    """Start the server, measure it empty, start W waiting instances, measure it again.
    The figures, and the waiting instances' ids (measure 4 sends them their event)."""
    say(f"== 3. idle cost of {sizes.waiting} waiting instances (wait_event), one fresh server")
    server.start()
    async with new_client(server.url, sizes.concurrency) as client:
        # DBOS looks for schedules each second in its first minute, then every 30 s: part of this
        # window is in that minute (the 10k-waiting one, minutes later, is not).
        empty = await idle_window(server, settle_s=sizes.settle_s, window_s=sizes.window_s)
        say(
            f"idle, no instance: RSS {empty['rss_mb']:.0f} MB, CPU {empty['cpu_pct']:.2f}% of one core "
            f"over {empty['window_s']:.0f} s (target <= {TARGET_EMPTY_CPU_PCT}%)"
        )
        ids, start_rate = await start_waiting(client, sizes)
        say(f"started {len(ids)} waiting instances at {start_rate:.1f} runs/s")
        all_waiting = await wait_until(
            lambda: reader.waiting() >= sizes.waiting, every=0.5, timeout=sizes.timeout_s, what="parked instances"
        )
        idle = await idle_window(server, settle_s=sizes.settle_s, window_s=sizes.window_s)
    idle.update(
        empty_rss_mb=empty["rss_mb"],
        empty_cpu_pct=empty["cpu_pct"],
        all_waiting=all_waiting,
        start_per_s=start_rate,
    )
    per_instance_kb = (idle["rss_mb"] - empty["rss_mb"]) * 1024 / sizes.waiting
    say(
        f"idle: RSS {idle['rss_mb']:.0f} MB (target <= {TARGET_RSS_MB}; {empty['rss_mb']:.0f} MB empty, "
        f"~{per_instance_kb:.1f} KB per waiting instance), VmHWM {idle['hwm_mb']:.0f} MB, "
        f"{idle['threads']} threads"
    )
    say(
        f"idle: CPU {idle['cpu_pct']:.2f}% of one core over {idle['window_s']:.0f} s "
        f"(target <= {TARGET_IDLE_CPU_PCT}%), after {sizes.settle_s:g} s settling"
    )
    return idle, ids
