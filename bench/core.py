"""Core benchmark of `orchestration serve` on embedded SQLite.

    .venv/bin/python -m bench.core [--instances 2000] [--concurrency 32] [--waiting 10000] [--quick]

Five measures, each printed as plain lines, then one JSON summary line:

0. latency: one instance of 3 `noop` at a time, `?wait=true`, nothing else running;
   and the floor's, one bare DBOS workflow at a time.
1. throughput: N instances of a 3-`noop` workflow run over HTTP with bounded
   concurrency; instances/s and run-request-to-terminated latency. Instant stages
   only: they run in place, with no engine workflow.
2. floor: the same N bare DBOS workflows of 3 trivial steps (bench.floor, in
   a subprocess of its own), and the ratio server/floor.
1c. the same with `noop, delay 1ms, noop`: instances that run through their
   workflow (three steps, like the floor's), and their ratio to the floor.
3. idle: the server's RSS and CPU, empty, then with W instances waiting on a
   `wait_event` stage.
4. resume: SIGKILL with W waiting instances, restart, and the time until the
   API answers and until the instances take their event again; the instances'
   outcomes (an instance failed by the restart shows its error).

Termination (measure 1) is seen by one poller of the running instances, whose cost
to the server is printed (see bench._runs).

No figure is asserted: targets are printed next to the figures, for people.
Every subprocess dies with the script, even if it is SIGKILLed (PR_SET_PDEATHSIG).
`--profile` also samples the server with py-spy during measure 1 and prints
where its event loop and its other threads spent their time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._client import LOAD_CLIENT_LINE
from ._datadir import DataDirReader
from ._harness import leave_work_dir, load, run_to_summary, say
from ._idle import measure_idle
from ._latency import measure_latency
from ._logs import print_log_summary, summarize_log
from ._open_loop import measure_open_loop
from ._profile import PY_SPY
from ._resume import measure_resume
from ._server import BenchServer
from ._sizes import Sizes
from ._throughput import STEP_WORKFLOW, measure_floor, measure_throughput

TARGET_RATIO = 1.2  # server/floor, printed next to the figure (not asserted)


async def measure_waiting(work_dir: Path, sizes: Sizes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Measures 3 (idle cost) and 4 (resume after SIGKILL), on one data directory."""
    data_dir = work_dir / "waiting-data"
    server = BenchServer(data_dir=data_dir)
    reader = DataDirReader(data_dir)
    try:
        idle, ids = await measure_idle(server, reader, sizes)
        idle["log"] = summarize_log(server.log_path)
        resume = await measure_resume(server, reader, ids, sizes)
        resume["log"] = summarize_log(server.log_path)
    finally:
        server.stop()
    return idle, resume


async def main(sizes: Sizes, *, only: str | None, keep: bool, profile: bool) -> dict[str, Any]:
    work_dir = Path(tempfile.mkdtemp(prefix="orchestration-bench-"))
    say(f"work dir: {work_dir} ({os.cpu_count()} CPUs, {load()})")
    say(LOAD_CLIENT_LINE)
    summary: dict[str, Any] = {}
    logs: dict[str, Any] = {}
    try:
        if only in (None, "latency"):
            summary["latency"] = await measure_latency(work_dir, sizes)
        if only in (None, "throughput"):
            throughput = await measure_throughput(work_dir, sizes, profile=profile)
            floor = measure_floor(work_dir, sizes)
            ratio = throughput["per_s"] / floor["per_s"]
            say(f"ratio server/floor: {ratio:.2f} (target >= {TARGET_RATIO})")
            logs["throughput"] = throughput.pop("log")
            summary.update(throughput=throughput, floor=floor, ratio=ratio)
            stepped = await measure_throughput(
                work_dir, sizes, profile=False, workflow=STEP_WORKFLOW,
                title="1c. server throughput, instances that run through their workflow",
            )
            stepped_ratio = stepped["per_s"] / floor["per_s"]
            say(f"ratio server/floor, instances that run through their workflow: {stepped_ratio:.2f} "
                f"(target >= {TARGET_RATIO}); CPU per instance {stepped['cpu_ms_each']:.1f} ms, "
                f"floor {floor['cpu_ms_each']:.1f} ms")
            logs["throughput, workflow"] = stepped.pop("log")
            summary.update(stepped=stepped, stepped_ratio=stepped_ratio)
            open_loop = await measure_open_loop(work_dir, sizes)
            open_floor = measure_floor(work_dir, sizes, title="2b. engine floor", open_loop=True)
            open_ratio = open_loop["per_s"] / open_floor["per_s"]
            say(f"ratio server/floor, open loop: {open_ratio:.2f} (target >= {TARGET_RATIO})")
            say(
                f"CPU per instance: server {throughput['cpu_ms_each']:.1f} ms closed loop, "
                f"{open_loop['cpu_ms_each']:.1f} ms open loop; floor {floor['cpu_ms_each']:.1f} / "
                f"{open_floor['cpu_ms_each']:.1f} ms (target: server below the floor)"
            )
            logs["open loop"] = open_loop.pop("log")
            summary.update(open_loop=open_loop, open_floor=open_floor, open_ratio=open_ratio)
        if only in (None, "waiting"):
            idle, resume = await measure_waiting(work_dir, sizes)
            logs.update(waiting=idle.pop("log"), resumed=resume.pop("log"))
            summary.update(idle=idle, resume=resume)
        say(f"== server logs (stderr; {load()})")
        for name, log in logs.items():
            print_log_summary(name, log)
    finally:
        leave_work_dir(work_dir, keep=keep)
    return summary


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.core", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, help="N for throughput and floor (2000; 100 with --quick)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (at most 99)")
    parser.add_argument("--waiting", type=int, help="W waiting instances (10000; 100 with --quick)")
    parser.add_argument("--quick", action="store_true", help="small sizes and short windows: a smoke run")
    parser.add_argument(
        "--only", choices=["latency", "throughput", "waiting"],
        help="measure 0 only, 1-2 only, or 3-4 only (default: all five)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work dir (data, server logs)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the server during measure 1 (needs py-spy in the venv)"
    )
    args = parser.parse_args()
    if args.profile and not PY_SPY.exists():
        parser.error(f"--profile needs {PY_SPY}: {Path(sys.executable).parent}/pip install py-spy")
    if not 1 <= args.concurrency <= 99:
        # The poller's single page (100) must hold every running instance.
        parser.error("--concurrency must be between 1 and 99")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    preset = Sizes.quick if arguments.quick else Sizes.full
    sizes = preset(concurrency=arguments.concurrency, instances=arguments.instances, waiting=arguments.waiting)
    run_to_summary(main(sizes, only=arguments.only, keep=arguments.keep, profile=arguments.profile))
