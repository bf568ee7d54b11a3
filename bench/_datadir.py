"""Counts of waiting and terminated instances, read from the server's SQLite file."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any


class DataDirReader:
    """Read-only counts straight from the server's SQLite file: no load on its API.

    WAL readers do not block the server's writers; each count is one short statement.
    """

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "orchestration.sqlite"

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with closing(sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute(sql, tuple(params)).fetchall()

    def _count(self, sql: str, params: Iterable[Any] = ()) -> int:
        count: int = self._rows(sql, params)[0][0]
        return count

    def waiting(self) -> int:
        """Instances parked in their (only) stage, waiting for their event."""
        return self._count("SELECT count(*) FROM instance_waits WHERE woken_at IS NULL")

    def terminated(self, instance_ids: list[str] | None = None) -> int:
        if instance_ids is None:
            return self._count("SELECT count(*) FROM workflow_instances WHERE terminated = 1")
        marks = ",".join("?" * len(instance_ids))
        return self._count(
            f"SELECT count(*) FROM workflow_instances WHERE terminated = 1 AND id IN ({marks})", instance_ids
        )

    def outcomes(self, instance_ids: list[str] | None = None) -> Counter[str]:
        """Instances per outcome: "running", "ok", or their error (its first 90 characters)."""
        where = f"WHERE id IN ({','.join('?' * len(instance_ids))})" if instance_ids is not None else ""
        rows = self._rows(
            f"SELECT terminated, substr(error, 1, 90), count(*) FROM workflow_instances {where} GROUP BY 1, 2",
            instance_ids or (),
        )
        return Counter({("ok" if error is None else error) if done else "running": n for done, error, n in rows})
