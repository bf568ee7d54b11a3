"""Alembic migrations, run in-process (on `serve`/`worker` start-up and by `migrate`).

Alembic is imported only when there is something to migrate: a database at `HEAD` already
(every start-up but the first after an upgrade) is seen so with one query, and loading alembic
would cost a third of a second of each start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import URL

from ._database import make_sync_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest revision in MIGRATIONS_DIR (tests/storage/test_migrations.py checks it is alembic's head).
HEAD = "0012"


def _config(url: URL) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def migrate(url: URL) -> None:
    """Bring the database to the newest schema; safe to run from several processes at once."""
    if _current_revisions(url) == {HEAD}:
        return
    from alembic import command

    command.upgrade(_config(url), "head")


def pending_revisions(url: URL) -> list[str]:
    """Revisions the database lacks (empty when it is up to date)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config(url))
    current = _current_revisions(url)
    head = script.get_current_head()
    if head in current:
        return []
    return [rev.revision for rev in script.iterate_revisions(head, None) if rev.revision not in current]


def _current_revisions(url: URL) -> set[str]:
    """What alembic recorded in the database (none before its first migration)."""
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return set()
            return set(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()
