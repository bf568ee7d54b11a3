"""Scale-out on PostgreSQL: one API-only server (`serve --worker=false`), which asks the
workers to start each instance, and W `worker` processes that take those requests, on a fresh
database. First the workers' cost when idle (their polls and heartbeats), then bench.core's
closed loop and open loop through the API server, with the CPU of every process of ours and of
PostgreSQL, the database's statements, and the instances each worker ran."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ._cluster import BenchCluster
from ._db_meter import DatabaseMeter, DatabaseUsage
from ._harness import load, say
from ._logs import summarize_log
from ._open_loop import measure_open_loop
from ._pg_instances import PostgresInstances
from ._pg_server import database_usage
from ._server import BenchServer
from ._sizes import Sizes
from ._throughput import measure_throughput
from ._workers import Workers


class _ApiServer(BenchServer):
    """The API-only server, started once for both loops: a measure's start() and stop() leave it
    running (a restart costs seconds and measures nothing); close() stops it."""

    def start(self, timeout: float = 60.0) -> BenchServer:
        if self.proc is None or self.proc.poll() is not None:
            super().start(timeout)
        return self

    def stop(self, timeout: float = 15.0) -> int | None:
        return None

    def close(self) -> int | None:
        return super().stop()


def _spread(figures: dict[str, Any]) -> str:
    executors: dict[str, int] = figures.get("executors", {})
    return ", ".join(f"{executor} {count}" for executor, count in executors.items()) or "none seen"


def _cpu_split(result: dict[str, Any]) -> str:
    """The API server's CPU per instance (measured by the measure), the workers' (the rest of
    our processes), PostgreSQL's, and their sum."""
    api = result["cpu_ms_each"]
    ours, postgres = result["database"]["processes_cpu_ms"], result["database"]["postgres_cpu_ms"]
    return f"API {api:.1f} ms + workers {ours - api:.1f} ms + postgres {postgres:.1f} ms = {ours + postgres:.1f} ms"


async def _idle(meter: DatabaseMeter, seconds: float) -> dict[str, Any]:
    before = meter.read()
    await asyncio.sleep(seconds)
    usage = DatabaseUsage.between(before, meter.read(), per=seconds, unit="s")
    # pg_stat_database's counters would still be getting the workers' start-up (see bench._db_meter).
    exact = bool(usage.statements)
    for line in usage.lines(database_counters=not exact):
        say(f"idle workers: {line}")
    figures = usage.figures()
    if exact:
        figures = {name: value for name, value in figures.items() if name != "transactions" and "tup_" not in name}
    return figures


async def measure_scale_out(
    work_dir: Path, cluster: BenchCluster, sizes: Sizes, workers: int, *, idle_s: float
) -> dict[str, Any]:
    name = f"scale_out_{workers}"
    uri = cluster.create_database(name)
    run_dir = work_dir / name
    say(f"== 3. scale-out with {workers} worker(s): database {name}, an API-only server ({load()})")
    api = _ApiServer(data_dir=run_dir / "api-data", postgres_uri=uri, extra_args=["--worker=false"])
    fleet = Workers(run_dir, uri, workers)
    instances = PostgresInstances(uri)
    meter = DatabaseMeter(cluster, name, pids=lambda: [api.pid, *fleet.pids()], executors=fleet.instances_ended)
    result: dict[str, Any] = {"workers": workers}
    try:
        await fleet.start(instances, sizes.timeout_s)
        result["idle_per_s"] = await _idle(DatabaseMeter(cluster, name, pids=fleet.pids), idle_s)
        closed = await measure_throughput(
            run_dir, sizes, profile=False, server=api, meter=meter.read,
            title=f"3. scale-out, {workers} worker(s), closed loop",
        )  # fmt: skip
        closed["database"] = database_usage(closed, sizes.instances)
        say(f"CPU per instance: {_cpu_split(closed)}")
        say(f"instances per worker: {_spread(closed['database'])}")
        result["closed"] = closed
        opened = await measure_open_loop(
            run_dir, sizes, server=api, terminated=instances.terminated, meter=meter.read,
            title=f"3b. scale-out, {workers} worker(s), open loop",
        )  # fmt: skip
        opened["database"] = database_usage(opened, sizes.instances)
        say(f"CPU per instance: {_cpu_split(opened)}")
        say(f"instances per worker: {_spread(opened['database'])}")
        result["open"] = opened
    finally:
        api.close()
        fleet.stop()
        instances.close()
    for measure in (closed, opened):
        measure.pop("log")  # the API server's, summarized once both loops are over
    logs = {f"W={workers} API server": summarize_log(api.log_path)}
    for worker_id, worker in zip(fleet.ids, fleet.processes, strict=True):
        logs[f"W={workers} worker {worker_id}"] = summarize_log(worker.log_path)
    result["logs"] = logs
    return result
