"""Alembic migrations, run in-process (on `serve`/`worker` start-up and by `migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from ._database import make_sync_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config(url: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def migrate(url: URL) -> None:
    """Bring the database to the newest schema; safe to run from several processes at once."""
    command.upgrade(_config(url), "head")


def pending_revisions(url: URL) -> list[str]:
    """Revisions the database lacks (empty when it is up to date)."""
    script = ScriptDirectory.from_config(_config(url))
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    head = script.get_current_head()
    if head in current:
        return []
    return [rev.revision for rev in script.iterate_revisions(head, None) if rev.revision not in current]
