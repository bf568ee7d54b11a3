"""What bench.parked reads straight from the database under test, with no load on the API:
the data dir's SQLite file (read-only, see bench._datadir), or the PostgreSQL database (one
kept connection, see bench._pg_instances). The same statements serve both: they take no
parameter, and `terminated` reads as true or false in either."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from ._datadir import DataDirReader
from ._pg_instances import PostgresInstances


def _utc(stored: object) -> datetime | None:
    """A stored timestamp (naive UTC: a string from SQLite, a datetime from psycopg), aware."""
    if stored is None:
        return None
    moment = stored if isinstance(stored, datetime) else datetime.fromisoformat(str(stored))
    return moment.replace(tzinfo=UTC)


class ParkedCounts:
    """Counts per workflow (each half of the run has its own), mixed after a reader, whose
    `_rows(sql)` and `close()` come first; the names differ from the readers' own counts."""

    def _rows(self, sql: str) -> list[Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing kept open, unless the reader keeps a connection."""

    def parked(self) -> int:
        """Waits not over yet (an instance parked in a delay or an event wait, no workflow running)."""
        return int(self._rows("SELECT count(*) FROM instance_waits WHERE woken_at IS NULL")[0][0])

    def terminated_per_workflow(self) -> Counter[str]:
        """Terminated instances per workflow id."""
        rows = self._rows("SELECT workflow_id, count(*) FROM workflow_instances WHERE terminated GROUP BY workflow_id")
        return Counter({str(workflow): int(count) for workflow, count in rows})

    def termination_span(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """Per workflow id: the first and the last `terminated_at` (the server's clock)."""
        rows = self._rows(
            "SELECT workflow_id, min(terminated_at), max(terminated_at) FROM workflow_instances GROUP BY workflow_id"
        )
        return {str(workflow): (_utc(first), _utc(last)) for workflow, first, last in rows}

    def outcomes_per_workflow(self, stages: int) -> dict[str, Counter[str]]:
        """Per workflow id, instances per outcome: "ok" (terminated, no error, every one of its
        `stages` ended without error), "failed: <error>", "unfinished" (not terminated), or
        "stages incomplete" (terminated without error, but not every stage ended well)."""
        rows = self._rows(
            "SELECT i.workflow_id, CASE"
            " WHEN NOT i.terminated THEN 'unfinished'"
            " WHEN i.error IS NOT NULL THEN 'failed: ' || substr(i.error, 1, 90)"
            " WHEN (SELECT count(*) FROM workflow_instance_stage_statuses s WHERE s.instance_id = i.id"
            f"  AND s.terminated_at IS NOT NULL AND s.error IS NULL) = {int(stages)} THEN 'ok'"
            " ELSE 'stages incomplete' END, count(*)"
            " FROM workflow_instances i GROUP BY 1, 2"
        )
        outcomes: dict[str, Counter[str]] = {}
        for workflow, outcome, count in rows:
            outcomes.setdefault(str(workflow), Counter())[str(outcome)] = int(count)
        return outcomes


class DataDirParkedCounts(DataDirReader, ParkedCounts):
    """From the data dir's SQLite file, a short read-only connection per count."""


class PostgresParkedCounts(PostgresInstances, ParkedCounts):
    """From the PostgreSQL database, on one kept connection; the statements carry the bench's mark."""
