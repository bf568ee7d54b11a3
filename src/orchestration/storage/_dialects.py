"""What differs between SQLite and PostgreSQL, in one place (STYLE R6)."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ._connection import Connection


def insert_or_ignore(
    conn: Connection, table: sa.Table, key: list[str], *, returning: tuple[sa.Column[Any], ...] = ()
) -> sa.Insert:
    """INSERT that does nothing when a row with the same `key` exists (both databases say
    ON CONFLICT DO NOTHING, but SQLAlchemy builds it per dialect), RETURNING `returning`. Built
    once per table: statements are immutable, and some are sent for every instance."""
    return _insert_or_ignore(conn.dialect.name, table, tuple(key), returning)


@functools.cache
def _insert_or_ignore(
    dialect: str, table: sa.Table, key: tuple[str, ...], returning: tuple[sa.Column[Any], ...]
) -> sa.Insert:
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    ignoring = insert.on_conflict_do_nothing(index_elements=list(key))
    return ignoring.returning(*returning) if returning else ignoring


async def inserted(conn: Connection, insert: sa.Insert, params: dict[str, Any]) -> bool:
    """Whether an `insert_or_ignore(..., returning=<a column>)` inserted its row: the rows it
    returns tell on both databases (a row count may be -1 where the driver does not know)."""
    return (await conn.execute(insert, params)).first() is not None
