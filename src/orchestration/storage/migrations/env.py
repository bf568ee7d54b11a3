"""Alembic environment: online migrations only, URL handed over by `_migrate`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from orchestration.storage._database import make_sync_engine
from orchestration.storage._tables import metadata

# Any constant works: it only has to be the same for every process migrating this database.
_PG_MIGRATION_LOCK = 7_284_310_551


def run_migrations_online() -> None:
    engine = make_sync_engine(context.config.attributes["url"])
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # Serialise concurrent `migrate` runs; the second one then finds nothing to do.
                conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
                conn.commit()
            context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
                conn.commit()
    finally:
        engine.dispose()


run_migrations_online()
