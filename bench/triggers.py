"""Trigger dispatch benchmark: Formance events from NATS JetStream through the triggers of
`orchestration serve` on embedded SQLite.

    .venv/bin/python -m bench.triggers [--events 5000] [--matching 500] [--quick] [--keep] [--profile]

It starts its own nats-server (tests.testing.nats) and, for comparison, first runs
bench.core's measures 1-2 (3-noop instances over HTTP, and the bare DBOS floor) with
M instances, then, on one server consuming one subject:

1. dispatch, no start: N COMMITTED_TRANSACTIONS events, published while the server is
   stopped, each evaluated against 100 filters that match none; events/s until the
   durable consumer has acknowledged them all (target >= 500).
2. dispatch, one start each: M SAVED_PAYMENT events, each evaluated against 50 filters of
   which one matches and starts an instance of 3 noop stages; events/s (= instances/s)
   until the last instance terminated, against bench.core's instances/s (target >= 0.8 x),
   and the delays from publish to the instances' createdAt and terminatedAt.

Figures are printed as they come, next to their targets, then one JSON summary line.
No figure is asserted. Every subprocess dies with the script. `--profile` also samples
the server with py-spy while it consumes measure 1's events (read the figures of a run
without it: py-spy takes CPU too).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.testing.nats import NatsServer, find_nats_server

from ._client import LOAD_CLIENT_LINE
from ._dispatch import DispatchSizes, measure_dispatch
from ._harness import leave_work_dir, load, run_to_summary, say
from ._logs import print_log_summary
from ._profile import PY_SPY
from ._throughput import measure_floor, measure_throughput

TARGET_EVENTS_PER_S = 500  # measure 1 on SQLite
TARGET_RATIO_TO_CORE = 0.8  # measure 2's instances/s over bench.core's


async def main(sizes: DispatchSizes, *, keep: bool, profile: bool) -> dict[str, Any]:
    binary = find_nats_server()
    if binary is None:
        raise SystemExit("nats-server not found: install it (Debian package nats-server) or set $NATS_SERVER")
    work_dir = Path(tempfile.mkdtemp(prefix="orchestration-bench-triggers-"))
    say(f"work dir: {work_dir} ({os.cpu_count()} CPUs, {load()})")
    say(LOAD_CLIENT_LINE)
    summary: dict[str, Any] = {"load_start": os.getloadavg()}
    nats = NatsServer(binary)
    try:
        say(f"== for comparison: bench.core's measures 1-2 with {sizes.core.instances} instances")
        core = await measure_throughput(work_dir, sizes.core, profile=False)
        floor = measure_floor(work_dir, sizes.core)
        nats.start()
        no_start, one_start, dispatch_log = await measure_dispatch(work_dir, nats.url, sizes, profile=profile)
        ratio = one_start["per_s"] / core["per_s"]
        say(f"== figures ({load()})")
        say(
            f"no-start dispatch: {no_start['per_s']:.0f} events/s (target >= {TARGET_EVENTS_PER_S}; "
            f"floor {floor['per_s']:.1f} workflows/s, core {core['per_s']:.1f} instances/s)"
        )
        say(
            f"one-start dispatch: {one_start['per_s']:.1f} instances/s = {ratio:.2f} x core's {core['per_s']:.1f} "
            f"(target >= {TARGET_RATIO_TO_CORE}; floor {floor['per_s']:.1f} workflows/s)"
        )
        logs = {"core": core.pop("log"), "dispatch (measures 1-2)": dispatch_log}
        say(f"== server logs ({load()})")
        for name, log in logs.items():
            print_log_summary(name, log)
        summary.update(core=core, floor=floor, no_start=no_start, one_start=one_start, ratio_to_core=ratio)
    finally:
        nats.stop()
        leave_work_dir(work_dir, keep=keep)
    summary["load_end"] = os.getloadavg()
    return summary


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.triggers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, help="N events of measure 1 (5000; 300 with --quick)")
    parser.add_argument("--matching", type=int, help="M events and instances of measure 2 (500; 40 with --quick)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, figures mean little")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (data, server logs)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the server during measure 1 (needs py-spy in the venv)"
    )
    args = parser.parse_args()
    if args.profile and not PY_SPY.exists():
        parser.error(f"--profile needs {PY_SPY}: {Path(sys.executable).parent}/pip install py-spy")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    preset = DispatchSizes.quick if arguments.quick else DispatchSizes.full
    run_to_summary(
        main(
            preset(events=arguments.events, matching=arguments.matching), keep=arguments.keep, profile=arguments.profile
        )
    )
