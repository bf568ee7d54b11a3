"""What every query runs on: the connection of the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVarTuple, overload

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.selectable import TypedReturnsRows

_Ts = TypeVarTuple("_Ts")
Parameters = Sequence[Mapping[str, Any]] | Mapping[str, Any] | None
"""One statement's parameters, or a list of them (executemany)."""


class Connection(Protocol):
    """One transaction's connection: SQLAlchemy's `AsyncConnection` on PostgreSQL,
    `InlineConnection` on SQLite. Queries use only these two members."""

    @property
    def dialect(self) -> Dialect: ...

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*_Ts], parameters: Parameters = None
    ) -> sa.CursorResult[*_Ts]: ...

    @overload
    async def execute(
        self, statement: sa.Executable, parameters: Parameters = None
    ) -> sa.CursorResult[*tuple[Any, ...]]: ...


class InlineConnection:
    """A sync SQLAlchemy connection to SQLite behind the coroutine interface of `Connection`: its
    statements run at once on the event loop's thread (`_inline_sqlite`).

    Unlike the asyncio engine's, its results are read from SQLite as they are fetched: a query
    reads its result whole before it returns (a statement left unread fails the COMMIT)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    async def execute(self, statement: sa.Executable, parameters: Parameters = None) -> Any:  # typed by `Connection`
        return self._conn.execute(statement, parameters)
