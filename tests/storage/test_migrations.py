"""Migrations: empty → head equals the tables in code, repeatable, concurrent (STYLE R7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from orchestration import storage
from orchestration.storage._database import make_sync_engine
from orchestration.storage._migrate import HEAD, _config
from orchestration.storage._tables import metadata


def _url(database_uri: str | None, tmp_path: Path) -> sa.URL:
    return storage.database_url(postgres_uri=database_uri, data_dir=tmp_path)


def test_migrated_schema_equals_the_tables_in_code(database_uri: str | None, tmp_path: Path) -> None:
    url = _url(database_uri, tmp_path)
    assert storage.pending_revisions(url) != []
    storage.migrate(url)
    assert storage.pending_revisions(url) == []
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_head_is_the_newest_revision_of_the_migrations(tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(_config(_url(None, tmp_path)))
    assert script.get_current_head() == HEAD


def test_migrating_twice_changes_nothing(database_uri: str | None, tmp_path: Path) -> None:
    url = _url(database_uri, tmp_path)
    storage.migrate(url)
    storage.migrate(url)
    assert storage.pending_revisions(url) == []


def test_concurrent_migrate_commands_all_succeed(database_uri: str | None, tmp_path: Path) -> None:
    if database_uri is None:
        pytest.skip("SQLite: one worker owns its data directory; concurrent migrations are a PostgreSQL concern")
    command = [sys.executable, "-m", "orchestration", "migrate", "--postgres-uri", database_uri]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert storage.pending_revisions(_url(database_uri, tmp_path)) == []


def test_waits_parked_before_due_times_existed_are_due_as_they_should_be(
    database_uri: str | None, tmp_path: Path
) -> None:
    url = _url(database_uri, tmp_path)
    command.upgrade(_config(url), "0009")
    engine = make_sync_engine(url)
    at = "2026-01-01 00:00:00"
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO workflows (id, config, created_at, updated_at) VALUES ('w', '{{}}', '{at}', '{at}')"
                )
            )
            for instance, terminated in (("delay", False), ("sent", False), ("unsent", False), ("ended", True)):
                conn.execute(
                    sa.text(
                        "INSERT INTO workflow_instances"
                        " (id, workflow_id, created_at, updated_at, terminated, variables)"
                        " VALUES (:id, 'w', :at, :at, :terminated, '{}')"
                    ),
                    {"id": instance, "at": at, "terminated": terminated},
                )
            waits = [("delay", None, "2026-01-02 00:00:00"), ("sent", "go", None), ("unsent", "go", None)]
            for instance, event, wake_at in waits:
                conn.execute(
                    sa.text(
                        "INSERT INTO instance_waits (instance_id, stage, event, wake_at, parked_at)"
                        " VALUES (:id, 0, :event, :wake_at, :at)"
                    ),
                    {"id": instance, "event": event, "wake_at": wake_at, "at": at},
                )
            for instance, name in (("sent", "go"), ("unsent", "other"), ("ended", "go")):
                conn.execute(
                    sa.text("INSERT INTO instance_events (instance_id, name, sent_at) VALUES (:id, :name, :at)"),
                    {"id": instance, "name": name, "at": at},
                )
        storage.migrate(url)
        with engine.connect() as conn:
            due = dict(conn.execute(sa.text("SELECT instance_id, due_at FROM instance_waits")).all())
            events = conn.execute(sa.text("SELECT instance_id, name FROM instance_events ORDER BY id")).all()
    finally:
        engine.dispose()
    as_text = {instance: str(value)[:19] if value is not None else None for instance, value in due.items()}
    # The delay at its deadline, the event wait whose event came at its parking, the other not yet.
    assert as_text == {"delay": "2026-01-02 00:00:00", "sent": at, "unsent": None}
    # The ended instance's event can never be taken: gone; the others' stay.
    assert [tuple(row) for row in events] == [("sent", "go"), ("unsent", "other")]
