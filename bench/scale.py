"""The server on PostgreSQL, and scale-out over 1, 2 and 3 workers.

    .venv/bin/python -m bench.scale [--instances 500] [--concurrency 32] [--quick] [--keep]

One throwaway PostgreSQL cluster for the whole run (`pg_stat_statements` loaded if installed),
a fresh database for each measure:

1, 2, 1b, 2b. bench.core's throughput measures on PostgreSQL: `orchestration serve` (worker
   included), N instances of 3 `noop`, closed loop then open loop, and the floor (bare DBOS
   workflows on a PostgreSQL system database) in both shapes; the ratios server/floor and the
   CPU per instance of each, and what PostgreSQL spent per instance.
3, 3b. for W = 1, 2, 3: an API-only server (`serve --worker=false`) and W `worker` processes;
   the idle workers' cost per second, then closed loop and open loop through the API server:
   instances/s and its ratio to W = 1, the CPU per instance of all our processes and of
   PostgreSQL, statements and transactions per instance, and the instances each worker ran.

On a small machine the ratio to W = 1 is bounded by its cores (the CPUs are printed); the CPU
and statements per instance are what carries over to bigger ones. Nothing is asserted;
targets are printed next to the figures. Every subprocess and the cluster die with the script.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from tests.testing.postgres import find_pg_bin

from ._client import LOAD_CLIENT_LINE
from ._cluster import BenchCluster
from ._harness import leave_work_dir, load, run_to_summary, say
from ._logs import print_log_summary
from ._pg_server import measure_postgres_server
from ._scale_out import measure_scale_out
from ._sizes import Sizes

WORKER_COUNTS = (1, 2, 3)


def _table_line(name: str, result: dict[str, Any], base: dict[str, Any]) -> str:
    db = result["database"]
    ours, postgres = db["processes_cpu_ms"], db["postgres_cpu_ms"]
    statements = f", {db['statements']:.1f} statements" if "statements" in db else ""
    # Closed loop: the server's createdAt-to-terminatedAt, which holds the wait in the queue.
    recorded = result.get("recorded_latency_ms", {}).get("p50")
    latency = f", p50 created-to-terminated {recorded:.0f} ms" if recorded is not None else ""
    return (
        f"{name}: {result['per_s']:6.1f} instances/s (x{result['per_s'] / base['per_s']:.2f} of W=1{latency}); "
        f"per instance: CPU ours {ours:.1f} ms + postgres {postgres:.1f} ms{statements}, "
        f"{db['transactions']:.1f} transactions"
    )


def _print_scale_table(single: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """One line per W and shape: instances/s and its ratio to W = 1, and the costs per instance;
    first, for comparison, the single `serve` process of measures 1 and 1b."""
    say(f"== scale-out, per worker count ({os.cpu_count()} CPUs; {load()})")
    first = runs[0]
    say(_table_line("serve closed loop", single["throughput"], first["closed"]))
    say(_table_line("serve open   loop", single["open_loop"], first["open"]))
    for run in runs:
        for shape in ("closed", "open"):
            say(_table_line(f"{'W=' + str(run['workers']):5} {shape:6} loop", run[shape], first[shape]))


async def main(sizes: Sizes, *, pg_bin: Path, keep: bool, idle_s: float) -> dict[str, Any]:
    work_dir = Path(tempfile.mkdtemp(prefix="orchestration-scale-"))
    say(f"work dir: {work_dir} ({os.cpu_count()} CPUs, {load()})")
    say(LOAD_CLIENT_LINE)
    cluster = BenchCluster(pg_bin)
    summary: dict[str, Any] = {}
    logs: dict[str, Any] = {}
    try:
        cluster.start()
        say(f"PostgreSQL {cluster.version()}; pg_stat_statements {'loaded' if cluster.statements else 'absent'}")
        single = await measure_postgres_server(work_dir, cluster, sizes)
        logs.update(single.pop("logs"))
        summary["postgres"] = single
        runs = []
        for workers in WORKER_COUNTS:
            run = await measure_scale_out(work_dir, cluster, sizes, workers, idle_s=idle_s)
            logs.update(run.pop("logs"))
            runs.append(run)
        _print_scale_table(single, runs)
        summary["scale_out"] = runs
        say(f"== logs (servers' and workers' stdout and stderr, then PostgreSQL's; {load()})")
        for name, log in logs.items():
            print_log_summary(name, log)
        summary["postgres_log"] = cluster.log_summary()
        print_log_summary("postgresql", summary["postgres_log"])
        if keep:
            cluster.keep_log(work_dir / "postgresql.log")
    finally:
        cluster.stop()
        leave_work_dir(work_dir, keep=keep)
    return summary


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, help="N per measure (500; 60 with --quick)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (at most 99)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, PostgreSQL's log)")
    args = parser.parse_args()
    if not 1 <= args.concurrency <= 99:
        # The poller's single page (100) must hold every running instance.
        parser.error("--concurrency must be between 1 and 99")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit(
            "bench.scale needs the PostgreSQL server binaries (initdb, pg_ctl, postgres): "
            ".ci/install-system-deps, or PG_BIN=<their directory>"
        )
    if arguments.quick:
        sizes = Sizes.quick(concurrency=arguments.concurrency, instances=arguments.instances or 60)
    else:
        sizes = Sizes.full(concurrency=arguments.concurrency, instances=arguments.instances or 500)
    idle_window_s = 0.5 if arguments.quick else 3.0
    run_to_summary(main(sizes, pg_bin=bin_dir, keep=arguments.keep, idle_s=idle_window_s))
