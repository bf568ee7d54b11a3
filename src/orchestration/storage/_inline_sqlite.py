"""SQLite for SQLAlchemy's asyncio engine, run on the event loop's own thread.

aiosqlite sends every statement to a thread of its own and back: a queue, a future and
a wake-up of the event loop each way. Our statements are small, and that round trip
cost more than the statements themselves (a third of the server's CPU in the profile).
Here the connection is `sqlite3`'s, called directly, behind the coroutine interface
SQLAlchemy's aiosqlite dialect expects (its `async_creator`).

Running on the loop is safe because nothing makes a statement wait long: the database
is in WAL mode, where readers never wait for the writer and a commit does not wait for
the disk (synchronous=NORMAL); the one wait, for the write lock, is taken in this
process before BEGIN (`Database.begin`), so BEGIN never finds another connection of
ours holding it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any


def apply_pragmas(conn: sqlite3.Connection, *, busy_timeout_ms: int = 30_000) -> None:
    """What every connection to our SQLite file needs (sync and inline alike)."""
    # WAL lets the API read while the engine writes. NORMAL keeps every commit across a
    # process kill (only an OS crash may lose the last commits). Transactions are begun
    # by hand so that they take the write lock at BEGIN: a read-then-write transaction
    # must not fail on lock upgrade.
    conn.isolation_level = None
    cursor = conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, seq_of_parameters)
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    def __init__(self, conn: sqlite3.Connection) -> None:
        # SQLAlchemy's adapter looks here to know whether the connection is still open.
        self._connection: sqlite3.Connection | None = conn

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._open.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open.cursor())

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any], **kw: Any) -> None:
        self._open.create_function(name, num_params, func, **kw)

    async def commit(self) -> None:
        self._open.commit()

    async def rollback(self) -> None:
        self._open.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


_BUSY_TIMEOUT_MS = 5_000


def creator(path: str) -> Callable[[], Any]:
    """The `async_creator` of an engine on the SQLite file at `path`."""

    async def connect() -> InlineConnection:
        # The pool may close a connection from another thread (the garbage collector's).
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # Our own writers take turns before BEGIN: only another process (a migration run by
        # hand, a tool) can hold the lock, and meanwhile the loop is blocked: not for long.
        apply_pragmas(conn, busy_timeout_ms=_BUSY_TIMEOUT_MS)
        return InlineConnection(conn)

    return connect
