"""What differs between SQLite and PostgreSQL, in one place (STYLE R6)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ._connection import Connection


def insert_or_ignore(conn: Connection, table: sa.Table, key: list[str]) -> sqlite.Insert | postgresql.Insert:
    """INSERT that does nothing when a row with the same `key` exists (both databases say
    ON CONFLICT DO NOTHING, but SQLAlchemy builds it per dialect)."""
    insert = postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_nothing(index_elements=key)


async def inserted(conn: Connection, insert: sa.Insert | sqlite.Insert | postgresql.Insert) -> bool:
    """Whether an `insert_or_ignore(...).returning(<a column>)` inserted its row: the rows it
    returns tell on both databases (a row count may be -1 where the driver does not know)."""
    return (await conn.execute(insert)).first() is not None
