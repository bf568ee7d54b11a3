"""What a measure costs the database: PostgreSQL's CPU, its counters for the measure's
database, and our processes' CPU, read before and after the measured run.

`pg_stat_statements` (when loaded) counts each statement as it ends: its figures are exact.
`pg_stat_database` gets a connection's counts at most once a second, and an idle connection's
only after 10 s or when it closes: its figures are approximate (some of the warm-up in, some
of the run's last second out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._cluster import BenchCluster
from ._harness import ProcStats

# Statements the bench itself sends to a database under test start with this comment,
# so that the figures per statement leave them out.
BENCH_MARK = "/* bench */"

_DATABASE_COUNTERS = (
    "xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_inserted", "tup_updated", "tup_deleted",
)  # fmt: skip


@dataclass(frozen=True)
class Statement:
    text: str
    calls: int
    ms: float  # execution time, summed
    rows: int


@dataclass(frozen=True)
class DatabaseReading:
    postgres_cpu_s: float
    processes_cpu_s: float | None  # of the measure's own processes (servers, workers), if any were given
    counters: dict[str, int]  # pg_stat_database
    statements: dict[int, Statement]  # pg_stat_statements, by queryid; empty when not loaded
    executors: Counter[str] = field(default_factory=Counter)  # instances per worker, as `executors()` counts them


class DatabaseMeter:
    """Reads of one database's figures, and of the CPU of `pids()` (called at each reading:
    a restarted server has a new pid); `executors()`, if given, counts the instances of each worker."""

    def __init__(
        self,
        cluster: BenchCluster,
        database: str,
        *,
        pids: Callable[[], list[int]] | None = None,
        executors: Callable[[], Counter[str]] | None = None,
    ) -> None:
        self._cluster = cluster
        self._database = database
        self._pids = pids
        self._executors = executors

    def read(self) -> DatabaseReading:
        processes_cpu_s = sum(ProcStats.read(pid).cpu_s for pid in self._pids()) if self._pids else None
        postgres_cpu_s = self._cluster.cpu_s()
        conn = self._cluster.stats_connection()
        row: Any = conn.execute(
            f"SELECT {', '.join(_DATABASE_COUNTERS)} FROM pg_stat_database WHERE datname = %s", (self._database,)
        ).fetchone()
        assert row is not None, f"no database {self._database}"
        counters = {name: int(value) for name, value in zip(_DATABASE_COUNTERS, row, strict=True)}
        statements = self._statements(conn) if self._cluster.statements else {}
        executors = self._executors() if self._executors else Counter()
        return DatabaseReading(postgres_cpu_s, processes_cpu_s, counters, statements, executors)

    def _statements(self, conn: Any) -> dict[int, Statement]:
        rows = conn.execute(
            "SELECT queryid, query, calls, total_exec_time, rows FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s AND query NOT LIKE %s",
            (self._database, BENCH_MARK + "%"),
        ).fetchall()
        return {queryid: Statement(text, calls, ms, n) for queryid, text, calls, ms, n in rows}


@dataclass(frozen=True)
class DatabaseUsage:
    """What happened between two readings, divided by `per` (instances, or seconds)."""

    per: float
    unit: str  # "instance" or "s"
    postgres_cpu_s: float
    processes_cpu_s: float | None
    counters: dict[str, int]
    statements: list[Statement]  # most called first
    executors: Counter[str]

    @classmethod
    def between(cls, before: DatabaseReading, after: DatabaseReading, *, per: float, unit: str) -> DatabaseUsage:
        statements = []
        for queryid, last in after.statements.items():
            first = before.statements.get(queryid)
            calls = last.calls - (first.calls if first else 0)
            if calls:
                ms = last.ms - (first.ms if first else 0.0)
                statements.append(Statement(last.text, calls, ms, last.rows - (first.rows if first else 0)))
        statements.sort(key=lambda s: s.calls, reverse=True)
        return cls(
            per=per,
            unit=unit,
            postgres_cpu_s=after.postgres_cpu_s - before.postgres_cpu_s,
            processes_cpu_s=(
                after.processes_cpu_s - before.processes_cpu_s
                if after.processes_cpu_s is not None and before.processes_cpu_s is not None
                else None
            ),
            counters={name: after.counters[name] - before.counters[name] for name in _DATABASE_COUNTERS},
            statements=statements,
            executors=after.executors - before.executors,
        )

    def _each(self, value: float) -> float:
        return value / self.per

    def _calls(self, *texts: str) -> int:
        return sum(s.calls for s in self.statements if s.text.strip().upper() in texts)

    def figures(self) -> dict[str, Any]:
        """Every figure divided by `per`, for the summary line."""
        figures: dict[str, Any] = {
            "postgres_cpu_ms": self._each(self.postgres_cpu_s * 1000),
            "transactions": self._each(self.counters["xact_commit"] + self.counters["xact_rollback"]),
            **{name: self._each(self.counters[name]) for name in _DATABASE_COUNTERS if name.startswith("tup_")},
        }
        if self.processes_cpu_s is not None:
            figures["processes_cpu_ms"] = self._each(self.processes_cpu_s * 1000)
        if self.statements:
            figures.update(
                statements=self._each(sum(s.calls for s in self.statements)),
                statement_ms=self._each(sum(s.ms for s in self.statements)),
                statement_rows=self._each(sum(s.rows for s in self.statements)),
                commits=self._each(self._calls("COMMIT")),
                rollbacks=self._each(self._calls("ROLLBACK")),
            )
        if self.executors:
            figures["executors"] = dict(sorted(self.executors.items()))
        return figures

    def lines(self, *, top: int = 0, database_counters: bool = True) -> list[str]:
        """The figures as lines to print; `top` statements, most called first; pg_stat_database's
        counters unless `database_counters` is false."""
        f, unit = self.figures(), self.unit
        cpu = f"CPU per {unit}: postgres {f['postgres_cpu_ms']:.1f} ms"
        if "processes_cpu_ms" in f:
            together = f["postgres_cpu_ms"] + f["processes_cpu_ms"]
            cpu += f", our processes {f['processes_cpu_ms']:.1f} ms, together {together:.1f} ms"
        lines = [cpu]
        if self.statements:
            lines.append(
                f"statements per {unit}: {f['statements']:.1f} ({f['statement_ms']:.2f} ms executing, "
                f"{f['statement_rows']:.1f} rows; {f['commits']:.1f} COMMIT, {f['rollbacks']:.1f} ROLLBACK) "
                "[pg_stat_statements]"
            )
        if database_counters:
            lines.append(
                f"transactions per {unit}: {f['transactions']:.1f}; tuples returned {f['tup_returned']:.1f}, "
                f"fetched {f['tup_fetched']:.1f}, inserted {f['tup_inserted']:.1f}, updated {f['tup_updated']:.1f}, "
                f"deleted {f['tup_deleted']:.1f} [pg_stat_database, approximate]"
            )
        for statement in self.statements[:top]:
            text = " ".join(statement.text.split())[:110]
            lines.append(f"  {self._each(statement.calls):5.2f}x {self._each(statement.ms):6.3f} ms  {text}")
        return lines
