"""bench.core's measures 1, 2, 1b and 2b with PostgreSQL in place of SQLite: one
`orchestration serve` (worker included) closed and open loop, and the floor (bare DBOS on a
PostgreSQL system database), each on a fresh database of the bench's cluster. Next to each,
what the database spent on it (see bench._db_meter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._cluster import BenchCluster
from ._db_meter import DatabaseMeter, DatabaseUsage
from ._harness import say
from ._open_loop import measure_open_loop
from ._pg_instances import PostgresInstances
from ._server import BenchServer
from ._sizes import Sizes
from ._throughput import measure_floor, measure_throughput

TARGET_RATIO = 1.2  # server/floor, printed next to the figure (not asserted)
TOP_STATEMENTS = 8  # the server's most called statements, printed per instance


def database_usage(result: dict[str, Any], instances: int, *, top: int = 0) -> dict[str, Any]:
    """Print what the database spent between the measure's two readings; its figures."""
    before, after = result.pop("readings")
    usage = DatabaseUsage.between(before, after, per=instances, unit="instance")
    for line in usage.lines(top=top):
        say(f"database: {line}")
    return usage.figures()


async def measure_postgres_server(work_dir: Path, cluster: BenchCluster, sizes: Sizes) -> dict[str, Any]:
    n = sizes.instances
    closed_uri = cluster.create_database("server_closed")
    closed_server = BenchServer(data_dir=work_dir / "pg-closed-data", postgres_uri=closed_uri)
    meter = DatabaseMeter(cluster, "server_closed", pids=lambda: [closed_server.pid])
    closed = await measure_throughput(
        work_dir, sizes, profile=False, server=closed_server, meter=meter.read,
        title="1. server on PostgreSQL, closed loop",
    )  # fmt: skip
    closed["database"] = database_usage(closed, n, top=TOP_STATEMENTS)

    floor_meter = DatabaseMeter(cluster, "floor_closed")
    floor_uri = cluster.create_database("floor_closed")
    floor = measure_floor(work_dir, sizes, postgres_uri=floor_uri, meter=floor_meter.read, title="2. floor")
    floor["database"] = database_usage(floor, n, top=TOP_STATEMENTS)
    ratio = closed["per_s"] / floor["per_s"]
    say(f"ratio server/floor on PostgreSQL, closed loop: {ratio:.2f} (target >= {TARGET_RATIO})")

    open_uri = cluster.create_database("server_open")
    open_server = BenchServer(data_dir=work_dir / "pg-open-data", postgres_uri=open_uri)
    meter = DatabaseMeter(cluster, "server_open", pids=lambda: [open_server.pid])
    instances = PostgresInstances(open_uri)
    try:
        open_loop = await measure_open_loop(
            work_dir, sizes, server=open_server, terminated=instances.terminated, meter=meter.read,
            title="1b. server on PostgreSQL, open loop",
        )  # fmt: skip
    finally:
        instances.close()
    open_loop["database"] = database_usage(open_loop, n)
    say(f"database: the bench's own reads of terminations: {instances.reads} (in pg_stat_database's counts)")

    open_floor_uri = cluster.create_database("floor_open")
    open_floor = measure_floor(
        work_dir, sizes, postgres_uri=open_floor_uri, meter=DatabaseMeter(cluster, "floor_open").read,
        title="2b. floor", open_loop=True,
    )  # fmt: skip
    open_floor["database"] = database_usage(open_floor, n)
    open_ratio = open_loop["per_s"] / open_floor["per_s"]
    say(f"ratio server/floor on PostgreSQL, open loop: {open_ratio:.2f} (target >= {TARGET_RATIO})")
    say(
        f"CPU per instance on PostgreSQL: server {closed['cpu_ms_each']:.1f} ms closed loop, "
        f"{open_loop['cpu_ms_each']:.1f} ms open loop; floor {floor['cpu_ms_each']:.1f} / "
        f"{open_floor['cpu_ms_each']:.1f} ms (target: server below the floor)"
    )
    say(
        f"PostgreSQL's CPU per instance: server {closed['database']['postgres_cpu_ms']:.1f} / "
        f"{open_loop['database']['postgres_cpu_ms']:.1f} ms; floor {floor['database']['postgres_cpu_ms']:.1f} / "
        f"{open_floor['database']['postgres_cpu_ms']:.1f} ms (closed / open loop)"
    )
    if cluster.statements:
        say(
            f"statements per instance: server {closed['database']['statements']:.1f} / "
            f"{open_loop['database']['statements']:.1f}; floor {floor['database']['statements']:.1f} / "
            f"{open_floor['database']['statements']:.1f} (closed / open loop)"
        )
    logs = {"pg closed loop": closed.pop("log"), "pg open loop": open_loop.pop("log")}
    return {
        "throughput": closed,
        "floor": floor,
        "ratio": ratio,
        "open_loop": open_loop,
        "open_floor": open_floor,
        "open_ratio": open_ratio,
        "logs": logs,
    }
