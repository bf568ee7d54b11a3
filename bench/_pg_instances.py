"""Counts of instances and engine workers, read straight from a PostgreSQL database under
test: no load on the API. One connection is kept (a new one costs PostgreSQL a process), and
every statement carries `BENCH_MARK`, so that the figures per statement leave them out."""

from __future__ import annotations

import psycopg

from ._db_meter import BENCH_MARK


class PostgresInstances:
    def __init__(self, uri: str) -> None:
        self._uri = uri
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self.reads = 0  # transactions of the bench in the database (in pg_stat_database's counts)

    def _rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        if self._conn is None:
            self._conn = psycopg.connect(self._uri, autocommit=True)
        self.reads += 1
        return self._conn.execute(f"{BENCH_MARK} {sql}", params).fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def terminated(self, instance_ids: list[str]) -> int:
        rows = self._rows("SELECT count(*) FROM workflow_instances WHERE terminated AND id = ANY(%s)", instance_ids)
        return int(str(rows[0][0]))

    def heartbeats(self) -> set[str]:
        """Workers that have said they are alive (a worker's first heartbeat follows its launch)."""
        if self._rows("SELECT to_regclass('engine_executors')")[0][0] is None:
            return set()  # not migrated yet
        return {str(row[0]) for row in self._rows("SELECT id FROM engine_executors")}
