"""Migrations: empty → head equals the tables in code, repeatable, concurrent (STYLE R7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from orchestration import storage
from orchestration.storage._database import make_sync_engine
from orchestration.storage._tables import metadata


def _url(database_uri: str | None, tmp_path: Path) -> sa.URL:
    return storage.database_url(postgres_uri=database_uri, data_dir=tmp_path, driver="sync")


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
