"""Read a server's databases from the outside: what the API does not show (parked
waits, the engine's workflows), for tests that check how an instance is held."""

from __future__ import annotations

from types import TracebackType

import sqlalchemy as sa

from orchestration import storage
from orchestration.storage._tables import instance_waits
from tests.testing.server import ServerProcess


class Peek:
    def __init__(self, server: ServerProcess) -> None:
        url = storage.database_url(postgres_uri=server.postgres_uri, data_dir=server.data_dir)
        self._ours = sa.create_engine(url)
        if server.postgres_uri:
            self._engine, self._workflows = self._ours, "dbos.workflow_status"
        else:
            self._engine = sa.create_engine(f"sqlite:///{server.data_dir / 'engine.sqlite'}")
            self._workflows = "workflow_status"

    def waits(self, instance_id: str) -> list[dict[str, object]]:
        """The instance's rows in `instance_waits`, by stage (times as aware UTC datetimes)."""
        query = sa.select(instance_waits).where(instance_waits.c.instance_id == instance_id).order_by(
            instance_waits.c.stage
        )
        with self._ours.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def events(self, instance_id: str) -> list[tuple[str, int | None]]:
        """The events sent to the instance, oldest first: (name, the stage that consumed it)."""
        query = sa.text("SELECT name, consumed_by_stage FROM instance_events WHERE instance_id = :id ORDER BY id")
        with self._ours.connect() as conn:
            return [(row.name, row.consumed_by_stage) for row in conn.execute(query, {"id": instance_id})]

    def workflow_status(self, workflow_id: str) -> str | None:
        """The engine's status of a workflow (PENDING, SUCCESS, ...), None if it never started."""
        query = sa.text(f"SELECT status FROM {self._workflows} WHERE workflow_uuid = :id")
        with self._engine.connect() as conn:
            return conn.execute(query, {"id": workflow_id}).scalar_one_or_none()

    def running_executors(self) -> set[str]:
        """The executors (processes) with a workflow in progress: what a kill -9 would leave to a takeover."""
        query = sa.text(f"SELECT DISTINCT executor_id FROM {self._workflows} WHERE status = 'PENDING'")
        with self._engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def close(self) -> None:
        self._ours.dispose()
        self._engine.dispose()

    def __enter__(self) -> Peek:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
